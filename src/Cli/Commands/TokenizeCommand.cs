using System.Buffers.Text;
using System.CommandLine;
using System.Text;
using LlamaAot.Gguf;
using LlamaAot.Tokenizers;

namespace LlamaAot.Cli.Commands;

/// <summary>
/// <c>llama-aot tokenize -m FILE (-p TEXT | -f FILE | --stdin) [--ids] [--no-bos] [--no-parse-special]</c>: the token
/// ids of a prompt, printed as llama.cpp 0.5.0's <c>llama-tokenize</c> prints them (tools/tokenize/tokenize.cpp), byte
/// for byte. Only the file's vocabulary is read: a vocabulary-only GGUF works, and a model's weights are never touched.
/// </summary>
internal sealed class TokenizeCommand
{
    private readonly Option<string> _model = CommonOptions.Model();
    private readonly Option<string?> _prompt = CommonOptions.Prompt();
    private readonly Option<string?> _file = new("--file", "-f")
    {
        Description = "Read the prompt from a file, byte for byte (a trailing newline stays: it is a token too).",
        HelpName = "FILE",
    };
    private readonly Option<bool> _stdin = new("--stdin") { Description = "Read the prompt from standard input, byte for byte." };
    private readonly Option<bool> _ids = new("--ids") { Description = "Print only the ids, as one list: [1, 2, 3]." };
    private readonly Option<bool> _noBos = new("--no-bos") { Description = "Add no BOS token, even where the vocabulary adds one (nor EOS)." };
    private readonly Option<bool> _noParseSpecial = new("--no-parse-special")
    {
        Description = "Take the text of control tokens (<s>, <|im_start|>) as plain text instead of those tokens.",
    };
    private readonly Option<bool> _showCount = new("--show-count") { Description = "Print the number of tokens last." };
    private readonly PromptEscapes _escapes = new();

    public static Command Create()
    {
        var self = new TokenizeCommand();
        var command = new Command("tokenize", "Print the token ids of a prompt as llama.cpp's llama-tokenize does (the file's vocabulary alone is read).");
        foreach (var o in (Option[])[self._model, self._prompt, self._file, self._stdin, self._ids, self._noBos, self._noParseSpecial, self._showCount, .. self._escapes.Options])
            command.Add(o);
        command.SetAction(self.Run);
        return command;
    }

    private int Run(ParseResult p)
    {
        string modelPath = p.GetValue(_model)!;
        string? text = p.GetValue(_prompt), path = p.GetValue(_file);
        bool stdin = p.GetValue(_stdin);
        if ((text is null ? 0 : 1) + (path is null ? 0 : 1) + (stdin ? 1 : 0) != 1)
            throw new UsageException("give the prompt with exactly one of -p, -f or --stdin");
        if (path is not null)
            InputFiles.Check(path, "prompt");

        var tokenizer = LoadTokenizer(modelPath);
        // As llama-tokenize: the file (or standard input, read after the model loads) as it is, every source's escapes
        // processed unless --no-escape.
        byte[] prompt = text is not null ? Encoding.UTF8.GetBytes(text)
            : path is not null ? File.ReadAllBytes(path)
            : ReadStandardInput();
        prompt = _escapes.Apply(p, prompt);

        // llama-tokenize passes add_bos as add_special: without BOS there is no EOS either.
        bool addSpecial = tokenizer.Vocabulary.AddBos && !p.GetValue(_noBos);
        int[] tokens;
        try
        {
            tokens = tokenizer.Encode(prompt, addSpecial, parseSpecial: !p.GetValue(_noParseSpecial));
        }
        catch (ArgumentException e)
        {
            // The vocabulary cannot spell the prompt (a byte without a byte-fallback token, a code point above U+10FFFF).
            throw new InputException($"cannot tokenize the prompt: {e.Message}");
        }

        using var output = new BufferedStream(StandardStreams.OpenOutput(), 1 << 16);
        if (p.GetValue(_ids))
            WriteIds(output, tokens);
        else
            WritePieces(output, tokenizer, tokens);
        if (p.GetValue(_showCount))
            output.Write(Encoding.ASCII.GetBytes(CommonOptions.Invariant($"Total number of tokens: {tokens.Length}\n")));
        output.Flush();
        return ExitCodes.Ok;
    }

    /// <summary>The file's vocabulary alone: its metadata is parsed, its tensors never read.</summary>
    private static Tokenizer LoadTokenizer(string path)
    {
        InputFiles.Check(path, "model");
        using var file = GgufFile.Open(path);
        return new Tokenizer(Vocabulary.FromGguf(file.Metadata));
    }

    private static byte[] ReadStandardInput()
    {
        using var input = Console.OpenStandardInput();
        using var buffer = new MemoryStream();
        input.CopyTo(buffer);
        return buffer.ToArray();
    }

    /// <summary><c>[1, 2, 3]</c> and a newline.</summary>
    private static void WriteIds(Stream output, int[] tokens)
    {
        Span<byte> number = stackalloc byte[16];
        output.WriteByte((byte)'[');
        for (int i = 0; i < tokens.Length; i++)
        {
            if (i > 0)
                output.Write(", "u8);
            Utf8Formatter.TryFormat(tokens[i], number, out int length);
            output.Write(number[..length]);
        }
        output.Write("]\n"u8);
    }

    /// <summary>
    /// <c>printf("%6d -> '%s'\n", id, piece)</c> per token, the piece rendered with special tokens shown
    /// (<c>common_token_to_piece</c>). Its bytes go out as they are, a part of a UTF-8 character included; printf's
    /// <c>%s</c> stops at a zero byte, so the piece of byte 0x00 prints as nothing.
    /// </summary>
    private static void WritePieces(Stream output, Tokenizer tokenizer, int[] tokens)
    {
        Span<byte> number = stackalloc byte[16];
        foreach (int id in tokens)
        {
            Utf8Formatter.TryFormat(id, number, out int length);
            for (int pad = length; pad < 6; pad++)
                output.WriteByte((byte)' ');
            output.Write(number[..length]);
            output.Write(" -> '"u8);
            ReadOnlySpan<byte> piece = tokenizer.TokenToPiece(id, special: true);
            int nul = piece.IndexOf((byte)0);
            output.Write(nul < 0 ? piece : piece[..nul]);
            output.Write("'\n"u8);
        }
    }
}
