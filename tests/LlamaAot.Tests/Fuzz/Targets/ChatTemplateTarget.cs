using LlamaAot.Tests.Chat;

namespace LlamaAot.Tests.Fuzz.Targets;

/// <summary>
/// The Jinja engine through <c>llama-aot apply-template --template t.jinja --messages m.json --tools tools.json</c>. The
/// seeds are real chat templates of reference/chat-templates with the tool-call conversation of cases.py. A case
/// mutates the template (fragments of Jinja spliced in: unbalanced tags, deep nesting, huge loops and strings,
/// self-recursive macros, sandbox escapes; ranges cut or repeated; bytes), the messages, or both. The bounds of the
/// engine (iterations, output, nesting) must turn every hostile template into one error line.
/// </summary>
internal sealed class ChatTemplateTarget : FuzzTarget
{
    private static readonly string[] Templates =
    [
        "Qwen-Qwen2.5-7B-Instruct", "meta-llama-Llama-3.1-8B-Instruct", "google-gemma-2-2b-it", "openai-gpt-oss-120b",
        "deepseek-ai-DeepSeek-V3.1", "mistralai-Mistral-Nemo-Instruct-2407", "NVIDIA-Nemotron-Nano-v2",
    ];

    private static readonly string[] Fragments =
    [
        "{%", "%}", "{{", "}}", "{#", "#}", "{%-", "-%}", "{% endif %}", "{% endfor %}", "{% else %}", "{% raw %}",
        "{% for i in range(100000000) %}x{% endfor %}", "{% for a in range(99999) %}{% for b in range(99999) %}{{ a }}{% endfor %}{% endfor %}",
        "{{ 'x' * 999999999 }}", "{{ messages * 99999999 }}", "{% macro r(n) %}{{ r(n) }}{% endmacro %}{{ r(1) }}",
        "{% set ns = namespace(s='ab') %}{% for i in range(60) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
        "{{ messages.append(1) }}", "{{ ''.__class__.__mro__[1].__subclasses__() }}", "{{ messages[0].update({}) }}",
        "(((((((((((((((((((((((((((((((((((((((((", "[[[[[[[[[[[[[[[[[[", "{{ 1/0 }}", "{{ 9223372036854775807 * 9 }}",
        "{{ raise_exception('stop') }}", "| tojson(indent=99999)", "| indent(999999999)", "{{ strftime_now('%Y %-d %Q') }}",
        "{% set x %}", "{% call m() %}", "{% filter upper %}", "{% generation %}", "{% break %}", "loop.cycle()",
        "'\\x", "'\\U0010ffff'", "\"\\uD800\"", "\u00e9\U0001F642", "\0", "\r\n", " is divisibleby 0", "|map('map')|list",
    ];

    private const string Messages = "messages.json";
    private const string Tools = "tools.json";

    public override string Name => "chat-template";

    public override void Prepare(string seedDir)
    {
        foreach (string name in Templates)
            File.Copy(Path.Combine(ChatReference.Directory, name + ".jinja"), Path.Combine(seedDir, name + ".jinja"));
        var c = ChatReference.Cases["tool-call-result"];
        File.WriteAllText(Path.Combine(seedDir, Messages), c.Messages.ToJsonString());
        File.WriteAllText(Path.Combine(seedDir, Tools), c.Tools!.ToJsonString());
    }

    public override string[] Make(string seedDir, string caseDir, Random? random)
    {
        string template = Templates[random?.Next(Templates.Length) ?? 0] + ".jinja";
        bool mutateTemplate = random is not null && random.Next(4) != 0;
        bool mutateMessages = random is not null && (!mutateTemplate || random.Next(3) == 0);
        CopyMutated(seedDir, caseDir, template, mutateTemplate ? random : null, (bytes, r) => Mutations.Splice(bytes, r, Fragments, 200));
        CopyMutated(seedDir, caseDir, Messages, mutateMessages ? random : null, Mutations.Json);
        Copy(seedDir, caseDir, Tools);
        return ["apply-template", "--template", template, "--messages", Messages, "--tools", Tools, "--now", "2026-07-26T10:00:00"];
    }
}
