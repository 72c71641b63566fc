using System.Text.RegularExpressions;

namespace LlamaAot.Tests.Cli;

/// <summary>
/// Errors in words a person can read: what happened to which file, never a .NET resource key
/// (<c>IO_PathNotFound_Path</c>) or a framework message as is, and never raw binary from a corrupt file.
/// </summary>
public partial class ErrorMessageTests
{
    [Fact]
    public void MissingModelFileIsNamed()
    {
        var r = LlamaAotProcess.Run("-m", "/nonexistent/dir/model.gguf", "-p", "hi");
        AssertReadable(r, 1, "file not found: /nonexistent/dir/model.gguf");
    }

    [Fact]
    public void DirectoryGivenAsAFileIsNamed()
    {
        string dir = Path.GetTempPath().TrimEnd('/');
        AssertReadable(LlamaAotProcess.Run("-m", dir, "-p", "hi"), 1, $"{dir} is a directory");
        AssertReadable(LlamaAotProcess.Run("-m", Shared.Stories260K("Q4_0"), "-f", dir), 1, $"{dir} is a directory");
        AssertReadable(LlamaAotProcess.Run("perplexity", "-m", dir, "-f", dir), 1, $"{dir} is a directory");
    }

    /// <summary>
    /// A file without read permission. Root reads it anyway (CAP_DAC_OVERRIDE), so as root the command runs as the
    /// unprivileged user 65534 with no capabilities (setpriv), which cannot.
    /// </summary>
    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void UnreadableModelIsPermissionDenied()
    {
        string dir = Directory.CreateTempSubdirectory("llama-aot-perm-").FullName;
        string model = Path.Combine(dir, "model.gguf");
        try
        {
            File.Copy(Shared.Stories260K("Q4_0"), model);
            File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
            File.SetUnixFileMode(model, UnixFileMode.None);
            bool root = Environment.UserName == "root";
            if (root)
            {
                // What root itself sees: the mode does not stop it.
                var asRoot = LlamaAotProcess.Run("-m", model, "-p", "hi", "-n", "1", "-c", "128");
                Assert.True(asRoot.ExitCode == 0, asRoot.Stderr);
            }
            var r = root ? LlamaAotProcess.RunAs(65534, "-m", model, "-p", "hi") : LlamaAotProcess.Run("-m", model, "-p", "hi");
            AssertReadable(r, 1, $"permission denied: {model}");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void OutputIntoAMissingDirectoryNamesIt()
    {
        var r = LlamaAotProcess.Run("logits", "-m", Shared.Stories260K("Q4_0"), "-p", "hi", "-o", "/nonexistent/dir/logits.json");
        AssertReadable(r, 1, "/nonexistent/dir");
    }

    /// <summary>Stands for a value of 20,000 characters in the cases below (the fuzz test's longest).</summary>
    private const string Long = "LONG";

    /// <summary>
    /// A value of 20,000 characters in any place of a command line: one short error line showing its start (and, for
    /// a path, its end) and its length. They were echoed whole, error lines of 2.7-20 KB (fuzz test, seed 1).
    /// </summary>
    [Theory]
    [InlineData("-t takes an integer", "-m", "MODEL", "-t", Long)]
    [InlineData("Unrecognized command or argument '999", "-m", "MODEL", "-p", "hi", Long)]
    [InlineData("file not found: '999", "-m", Long, "-p", "hi")]
    [InlineData("file not found: '999", "convert", Long, "/tmp/llama-aot-never-written.gguf")]
    [InlineData("unknown quantization type '999", "quantize", "F32MODEL", "/tmp/llama-aot-never-written.gguf", Long)]
    [InlineData("unknown tensor type '999", "quantize", "F32MODEL", "/tmp/llama-aot-never-written.gguf", "Q4_0", "--output-tensor-type", Long)]
    [InlineData("cannot write '/tmp/999", "quantize", "F32MODEL", $"/tmp/{Long}", "Q4_0")]
    [InlineData("the name is too long", "quantize", "F32MODEL", $"/tmp/{Long}", "Q4_0")]
    [InlineData("cannot write '/nonexistent/999", "logits", "-m", "MODEL", "-p", "hi", "-o", $"/nonexistent/{Long}")]
    public void LongValueIsShownShort(string mention, params string[] args)
    {
        string value = new('9', 20_000);
        string[] line = [.. args.Select(a => a switch
        {
            "MODEL" => Shared.Stories260K("Q4_0"),
            "F32MODEL" => Shared.Stories260K("F32"),
            _ => a.Replace(Long, value, StringComparison.Ordinal),
        })];
        var r = LlamaAotProcess.Run(line);
        Assert.True(r.ExitCode is 1 or 2, $"exit {r.ExitCode}: {r.Stderr}");
        AssertReadable(r, r.ExitCode, mention);
        string error = Errors(r)[0];
        Assert.True(error.Length <= Fuzz.FuzzCase.LongestErrorLine, $"{error.Length} characters: {error[..Math.Min(error.Length, 400)]}...");
        Assert.Contains($"({line.Single(a => a.Contains(value, StringComparison.Ordinal)).Length} characters)", error);
    }

    public static TheoryData<string> CorruptStrings() => ["key", "value", "tensor name"];

    /// <summary>
    /// A corrupt GGUF whose string (a metadata key, a string value, a tensor name) is 40,000 bytes of binary: the
    /// error quotes a short excerpt with its control bytes escaped.
    /// </summary>
    [Theory]
    [MemberData(nameof(CorruptStrings))]
    public void CorruptLongStringIsQuotedShortAndEscaped(string where)
    {
        var junk = new byte[40_000];
        for (int i = 0; i < junk.Length; i++)
            junk[i] = (byte)(i * 7 + 27); // every byte value, ESC and NUL and newlines among them
        string path = Path.Combine(Path.GetTempPath(), $"llama-aot-corrupt-{Guid.NewGuid():N}.gguf");
        try
        {
            File.WriteAllBytes(path, where switch
            {
                // The key, then a value type that does not exist.
                "key" => Gguf(tensors: 0, kv: 1, w => { Str(w, junk); w.Write(99u); }),
                // A tokenizer of a name llama-aot does not know.
                "value" => Gguf(tensors: 0, kv: 1, w => { Str(w, "tokenizer.ggml.model"u8); w.Write(8u); Str(w, junk); }),
                // The tensor name, then a dimension count that is not allowed.
                _ => Gguf(tensors: 1, kv: 0, w => { Str(w, junk); w.Write(0u); }),
            });
            var r = LlamaAotProcess.Run("-m", path, "-p", "hi");
            AssertReadable(r, 1, "'");
            string line = Errors(r)[0];
            Assert.True(line.Length < 400, $"{line.Length} characters: {line[..Math.Min(line.Length, 400)]}...");
            Assert.DoesNotContain(line, c => char.IsControl(c));
            Assert.Contains("\\x1b", line); // ESC (27), the first junk byte, shown escaped
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static byte[] Gguf(ulong tensors, ulong kv, Action<BinaryWriter> body)
    {
        var stream = new MemoryStream();
        using (var w = new BinaryWriter(stream))
        {
            w.Write("GGUF"u8);
            w.Write(3u);
            w.Write(tensors);
            w.Write(kv);
            body(w);
            w.Write(new byte[64]);
        }
        return stream.ToArray();
    }

    private static void Str(BinaryWriter w, ReadOnlySpan<byte> s)
    {
        w.Write((ulong)s.Length);
        w.Write(s);
    }

    private static string[] Errors(LlamaAotProcess.Result r) =>
        r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith("llama-aot: ")).ToArray();

    private static void AssertReadable(LlamaAotProcess.Result r, int exitCode, string mention)
    {
        string[] lines = Errors(r);
        Assert.True(r.ExitCode == exitCode, $"exit code {r.ExitCode}, expected {exitCode}; stderr: {r.Stderr}");
        Assert.True(lines.Length == 1, $"expected one error line, got: {r.Stderr}");
        Assert.StartsWith("error: ", lines[0]);
        Assert.Contains(mention, lines[0]);
        Assert.DoesNotMatch(ResourceKey(), lines[0]);
        Assert.DoesNotContain("   at ", r.Stderr);
    }

    // .NET's resource keys look like IO_PathNotFound_Path or Arg_OutOfMemoryException.
    [GeneratedRegex(@"\b[A-Z][A-Za-z]*_[A-Za-z_]+\b")]
    private static partial Regex ResourceKey();
}
