using System.Runtime.InteropServices;
using LlamaAot.Gguf;

namespace LlamaAot.Tests.Conversion;

/// <summary>What the conversion tests share: a scratch directory, greedy text, and tensor comparisons.</summary>
internal static class ConvertFixture
{
    public static string Stories260KBin => Path.Combine(Shared.Models, "stories260K", "stories260K.bin");

    public static string Tok512 => Path.Combine(Shared.Models, "stories260K", "tok512.bin");

    /// <summary>A fresh directory under the temp folder, deleted when disposed.</summary>
    public sealed class ScratchDirectory : IDisposable
    {
        public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"llama-aot-convert-{Guid.NewGuid():N}");

        public ScratchDirectory() => Directory.CreateDirectory(Path);

        public string File(string name) => System.IO.Path.Combine(Path, name);

        public void Dispose()
        {
            if (Directory.Exists(Path))
                Directory.Delete(Path, recursive: true);
        }
    }

    /// <summary>llama-cli's greedy text for one stories260K type (prompt "Once upon a time", 64 tokens, -c 128).</summary>
    public static string ReferenceText(string type) =>
        File.ReadAllText(System.IO.Path.Combine(Shared.Reference, "stories260K", "llama-cli", $"stories260K-{type}.t1.txt")).Trim();

    /// <summary>What <c>llama-aot -m model -p "Once upon a time" -n 64 --temp 0 -t 1 -c 128</c> prints, through the library.</summary>
    public static string GreedyText(string model)
    {
        using var m = LlamaModel.Load(model);
        using var context = m.CreateContext(new ContextOptions { ContextSize = 128, Threads = 1 });
        var options = new GenerationOptions { MaxTokens = 64, Sampling = new() { Temperature = 0 } };
        const string prompt = "Once upon a time";
        using var session = context.CreateSession();
        return (prompt + string.Concat(session.Generate(prompt, options))).Trim();
    }

    /// <summary>Asserts that every tensor of <paramref name="expected"/> is in <paramref name="actual"/> with the same
    /// shape, type and bytes (tensors named in <paramref name="absent"/> must be missing instead).</summary>
    public static void AssertSameTensors(string expected, string actual, params string[] absent)
    {
        using var e = GgufFile.Open(expected);
        using var a = GgufFile.Open(actual);
        foreach (var t in e.Tensors)
        {
            var other = a.FindTensor(t.Name);
            if (absent.Contains(t.Name))
            {
                Assert.Null(other);
                continue;
            }
            Assert.True(other is not null, $"tensor {t.Name} is missing");
            Assert.Equal(t.Type, other.Type);
            Assert.Equal(t.Shape.ToArray(), other.Shape.ToArray());
            Assert.True(e.GetData(t).SequenceEqual(a.GetData(other)), $"tensor {t.Name} ({t.Type}) has different bytes");
        }
        Assert.Equal(e.Tensors.Count - absent.Length, a.Tensors.Count);
    }

    /// <summary>A tensor of a GGUF file as floats (F32, F16 and BF16 tensors).</summary>
    public static float[] ReadFloats(GgufFile file, string name)
    {
        var t = file.FindTensor(name) ?? throw new InvalidOperationException($"no tensor {name}");
        var data = file.GetData(t);
        return t.Type switch
        {
            GgmlType.F32 => MemoryMarshal.Cast<byte, float>(data).ToArray(),
            GgmlType.F16 => MemoryMarshal.Cast<byte, Half>(data).ToArray().Select(h => (float)h).ToArray(),
            GgmlType.BF16 => MemoryMarshal.Cast<byte, ushort>(data).ToArray().Select(b => BitConverter.UInt32BitsToSingle((uint)b << 16)).ToArray(),
            _ => throw new NotSupportedException(t.Type.ToString()),
        };
    }
}
