using System.Text;

namespace LlamaAot.Tests.Fuzz;

/// <summary>
/// The request bodies the server's fuzz test starts from, a dozen valid ones per POST endpoint, and how a case mutates
/// one: as JSON mostly (values replaced by odd ones, removed, keys renamed), otherwise with fragments spliced into its
/// text (huge numbers, deep nesting, long strings, odd Unicode, nulls, fields with values at or past their limits);
/// either one damages the bytes themselves now and then (<see cref="Mutations"/>). Seeds ask for at most 16 tokens,
/// so the unmutated bodies are answered fast; the model is stories260K, whose token ids are below 512 (1 is BOS, 2 EOS,
/// 3 to 258 the bytes).
/// </summary>
internal static class RequestBodies
{
    private const string Chat = "/v1/chat/completions", Completions = "/v1/completions";

    public static readonly (string Path, string Body)[] Seeds =
    [
        (Chat, """{"messages": [{"role": "user", "content": "Tell me a story."}], "max_tokens": 8}"""),
        (Chat, """{"model": "stories260K", "messages": [{"role": "system", "content": "You are brief."}, {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello."}, {"role": "user", "content": "Once upon a time"}], "temperature": 0, "max_tokens": 12}"""),
        (Chat, """{"messages": [{"role": "user", "content": [{"type": "text", "text": "Lily saw"}, {"type": "text", "text": "a big dog"}]}], "stream": true, "max_tokens": 10}"""),
        (Chat, """{"messages": [{"role": "user", "content": "Tim and Sue"}], "stream": true, "stream_options": {"include_usage": true}, "stop": [".", " the"], "max_tokens": 16}"""),
        (Chat, """{"messages": [{"role": "user", "content": "Add 2 and 3"}, {"role": "assistant", "content": "", "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "add", "arguments": "{\"a\": 2, \"b\": 3}"}}]}, {"role": "tool", "tool_call_id": "call_1", "content": "5"}], "tools": [{"type": "function", "function": {"name": "add", "description": "Adds", "parameters": {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}, "required": ["a", "b"]}}}], "max_tokens": 8}"""),
        (Chat, """{"messages": [{"role": "user", "content": "The cat"}], "logprobs": true, "top_logprobs": 3, "seed": 42, "temperature": 0.7, "max_tokens": 4}"""),
        (Chat, """{"messages": [{"role": "user", "content": "JSON please"}], "response_format": {"type": "json_object"}, "max_tokens": 16}"""),
        (Chat, """{"messages": [{"role": "user", "content": "A person"}], "response_format": {"type": "json_schema", "json_schema": {"name": "person", "strict": true, "schema": {"type": "object", "properties": {"name": {"type": "string", "maxLength": 8}, "age": {"type": "integer", "minimum": 0, "maximum": 120}}, "required": ["name"]}}}, "max_tokens": 16}"""),
        (Chat, """{"messages": [{"role": "user", "content": "Yes or no?"}], "grammar": "root ::= (\"yes\" | \"no\") \".\"", "max_tokens": 8}"""),
        (Chat, """{"messages": [{"role": "user", "content": "Numbers"}], "json_schema": {"type": "array", "items": {"type": "integer"}, "maxItems": 3}, "stream": true, "max_tokens": 16}"""),
        (Chat, """{"messages": [{"role": "user", "content": "Go on"}], "top_k": 5, "top_p": 0.9, "min_p": 0.1, "repeat_penalty": 1.1, "repeat_last_n": 32, "presence_penalty": 0.5, "frequency_penalty": 0.5, "n": 1, "max_completion_tokens": 8}"""),
        (Chat, """{"messages": [{"role": "user", "content": "日本語 🦙 é\n\ttabs"}], "ignore_eos": true, "n_predict": 16, "stop": "\n", "seed": -1}"""),

        (Completions, """{"prompt": "Once upon a time", "max_tokens": 8, "temperature": 0}"""),
        (Completions, """{"prompt": ["Once upon a time"], "max_tokens": 8}"""),
        (Completions, """{"prompt": [1, 403, 407], "max_tokens": 8, "temperature": 0}"""),
        (Completions, """{"prompt": "The dog", "stream": true, "stream_options": {"include_usage": true}, "logprobs": 2, "max_tokens": 6}"""),
        (Completions, """{"prompt": "Lily was", "stop": ["."], "seed": 7, "temperature": 1.0, "max_tokens": 16}"""),
        (Completions, """{"prompt": "Say", "grammar": "root ::= [a-z ]{1,10}", "max_tokens": 12}"""),
        (Completions, """{"prompt": "{", "json_schema": {"type": "object", "properties": {"a": {"type": "boolean"}}, "required": ["a"]}, "max_tokens": 16}"""),
        (Completions, """{"prompt": "Color:", "response_format": {"type": "json_schema", "json_schema": {"schema": {"enum": ["red", "green", "blue"]}}}, "max_tokens": 8}"""),
        (Completions, """{"prompt": "Once", "response_format": {"type": "text"}, "max_tokens": 4}"""),
        (Completions, """{"prompt": "Ben had", "top_k": 0, "top_p": 1, "min_p": 0, "temperature": 0.5, "repeat_penalty": 1.2, "max_tokens": 8}"""),
        (Completions, """{"prompt": "One day", "ignore_eos": true, "n_predict": 16, "stream": true}"""),
        (Completions, """{"model": "x", "prompt": "<s>Once</s> upon", "logprobs": 0, "max_tokens": 4, "echo": false, "user": "u"}"""),

        ("/tokenize", """{"content": "Once upon a time"}"""),
        ("/tokenize", """{"content": "Once upon a time", "add_special": true}"""),
        ("/tokenize", """{"content": "<s>Hi</s>", "parse_special": true, "with_pieces": true}"""),
        ("/tokenize", """{"content": "<s>Hi</s>", "parse_special": false}"""),
        ("/tokenize", """{"content": ""}"""),
        ("/tokenize", """{}"""),
        ("/tokenize", """{"content": "日本語 🦙 é \u0000 \t\r\n", "with_pieces": true}"""),
        ("/tokenize", """{"content": "    spaces   and\n\nlines  "}"""),
        ("/tokenize", """{"content": "1234567890 3.14 -7", "add_special": false, "with_pieces": false}"""),
        ("/tokenize", """{"content": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}"""),
        ("/tokenize", """{"content": "\ud83e\udd99 \u00e9", "add_special": true, "parse_special": true}"""),
        ("/tokenize", """{"content": "The dog said \"hi\".", "with_pieces": true, "extra": [1, 2]}"""),

        ("/detokenize", """{"tokens": [1, 403, 407]}"""),
        ("/detokenize", """{"tokens": []}"""),
        ("/detokenize", """{}"""),
        ("/detokenize", """{"tokens": [1]}"""),
        ("/detokenize", """{"tokens": [2]}"""),
        ("/detokenize", """{"tokens": [0, 1, 2, 3, 4, 5]}"""),
        ("/detokenize", """{"tokens": [3, 100, 200, 258]}"""),
        ("/detokenize", """{"tokens": [230, 151, 165]}"""),
        ("/detokenize", """{"tokens": [511, 510, 259]}"""),
        ("/detokenize", """{"tokens": [403, 403, 403, 403, 403, 403, 403, 403]}"""),
        ("/detokenize", """{"tokens": [407, 1, 407, 2, 407]}"""),
        ("/detokenize", """{"tokens": [300, 301, 302, 303, 304, 305, 306, 307, 308, 309]}"""),

        ("/apply-template", """{"messages": [{"role": "user", "content": "Hi"}]}"""),
        ("/apply-template", """{"messages": [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "Hi"}]}"""),
        ("/apply-template", """{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}, {"role": "user", "content": "Bye"}]}"""),
        ("/apply-template", """{"messages": [{"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}]}"""),
        ("/apply-template", """{"messages": [{"role": "user", "content": "Add"}, {"role": "assistant", "content": "", "tool_calls": [{"id": "c", "type": "function", "function": {"name": "add", "arguments": "{\"a\": 1}"}}]}, {"role": "tool", "tool_call_id": "c", "content": "1"}]}"""),
        ("/apply-template", """{"messages": [{"role": "user", "content": "Tools?"}], "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}]}"""),
        ("/apply-template", """{"messages": [{"role": "user", "content": "<|im_start|>user\nnested<|im_end|>"}]}"""),
        ("/apply-template", """{"messages": [{"role": "user", "content": ""}]}"""),
        ("/apply-template", """{"messages": [{"role": "user", "content": "日本語 🦙 \u0000"}]}"""),
        ("/apply-template", """{"messages": [{"role": "developer", "content": "x"}, {"role": "user", "content": "y"}]}"""),
        ("/apply-template", """{"messages": [{"role": "user", "content": "Hi", "name": "me"}], "tools": []}"""),
        ("/apply-template", """{"messages": [{"role": "assistant", "content": "First"}]}"""),
    ];

    /// <summary>
    /// JSON text spliced in anywhere: most make the body malformed, some land where a value or a field goes. The longest
    /// string is 256 Ki characters, far past a slot's context: /tokenize with pieces takes about 100 bytes of transient
    /// memory a character (a token, its piece and their JSON), which the server's heap keeps for a while, so a longer one
    /// would blur the test's check of resident memory, which looks for what stays.
    /// </summary>
    private static readonly string[] Fragments =
    [
        "null", "true", "false", "[]", "{}", "\"\"", ",", ":", "\"", "{", "}", "[", "]", "\\", "\\u", "\\ud800",
        "1e999", "-1e999", "123456789012345678901234567890", "-2147483649", "2147483648", "4294967296", "1e-400", "-0", "NaN", "Infinity", "0x10", "01",
        new string('[', 10_000), new string('{', 1_000), Nested(65), Nested(1_000), string.Concat(Enumerable.Repeat("{\"a\": ", 100)) + "1" + new string('}', 100),
        "\"" + new string('a', 1 << 18) + "\"", "\"" + string.Concat(Enumerable.Repeat("\\u0000", 10_000)) + "\"", "\"" + string.Concat(Enumerable.Repeat("🦙", 50_000)) + "\"",
        "\"\\ud800\"", "\"\\udfff\\ud800\"", "\"\\uFFFF\\uFFFE\"", "\"\uFEFF\u202E\u200B\u0301\u0301\"", "\u0000", "\u001b[2J", "\u00e9\U0001F642",
        "\"stream\": true, ", "\"stream\": false, ", "\"stream_options\": {\"include_usage\": true}, ", "\"max_tokens\": 100000, ", "\"max_tokens\": -1, ",
        "\"ignore_eos\": true, ", "\"n_predict\": -1, ", "\"n\": 2, ", "\"logprobs\": 5, ", "\"logprobs\": true, \"top_logprobs\": 20, ", "\"seed\": 4294967295, ",
        "\"temperature\": -1, ", "\"temperature\": 1e38, ", "\"top_k\": -2147483648, ", "\"top_p\": 1e-45, ", "\"min_p\": 1e38, ", "\"repeat_last_n\": -1, ",
        "\"repeat_last_n\": 2147483647, ", "\"repeat_penalty\": 0, ", "\"presence_penalty\": -1e38, ", "\"stop\": [\"\", \"e\", \" \"], ", "\"stop\": \"\\u0000\", ",
        "\"grammar\": \"root ::= root\", ", "\"grammar\": \"root ::= [^x]{0,100000}\", ", "\"grammar\": \"root ::= <[2]>\", ", "\"grammar\": \"\", ",
        "\"json_schema\": {\"$ref\": \"#\"}, ", "\"json_schema\": {\"type\": \"array\", \"minItems\": 1000000}, ", "\"json_schema\": {}, ",
        "\"response_format\": {\"type\": \"json_schema\", \"json_schema\": {\"schema\": {\"type\": \"string\", \"pattern\": \"^(a+)+$\"}}}, ",
        "\"response_format\": {\"type\": \"json_object\", \"schema\": {\"not\": {}}}, ",
        "\"prompt\": [0, 1, 2, 511], ", "\"prompt\": [], ", "\"tokens\": [2147483647, -1], ", "\"content\": \"<s></s><unk>\", ", "\"add_special\": true, ",
        "\"with_pieces\": true, ", "\"messages\": [{\"role\": \"tool\"}], ", "\"role\": null, ", "\"content\": null, ", "\"content\": [{\"type\": \"image_url\"}], ",
        "\"tool_calls\": [{\"function\": {\"name\": \"f\", \"arguments\": \"{not json\"}}], ", "\"arguments\": \"[[[[[[[[[[[[[[\", ", "\"arguments\": {\"a\": [1]}, ",
        "\"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"\\u0000\", \"parameters\": {\"type\": \"object\"}}}], ", "\"tools\": {}, ",
    ];

    /// <summary>One case's body: <paramref name="body"/> mutated as JSON three times in four, else by a splice.</summary>
    public static byte[] Mutate(byte[] body, Random random) =>
        random.Next(4) != 0 ? Mutations.Json(body, random) : Mutations.Splice(body, random, Fragments, 64);

    /// <summary>A value nested in <paramref name="depth"/> arrays (System.Text.Json reads at most 64 by default).</summary>
    private static string Nested(int depth) => new StringBuilder().Append('[', depth).Append('1').Append(']', depth).ToString();
}
