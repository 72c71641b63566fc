using LlamaAot.Tests.Conversion;

namespace LlamaAot.Tests.Fuzz.Targets;

/// <summary>
/// A llama2.c checkpoint (seven int32 sizes, then the weights) and its tokenizer.bin (max token length, then score,
/// length and bytes per token), converted with <c>llama-aot convert model.bin out.gguf --vocab tok.bin</c>.
/// </summary>
internal sealed class Llama2cTarget : FuzzTarget
{
    private const int HeaderBytes = 7 * sizeof(int);

    public override string Name => "llama2c";

    public override void Prepare(string seedDir)
    {
        string dir = Path.Combine(Shared.Models, "stories260K");
        File.Copy(Path.Combine(dir, "stories260K.bin"), Path.Combine(seedDir, "model.bin"));
        File.Copy(Path.Combine(dir, "tok512.bin"), Path.Combine(seedDir, "tok.bin"));
    }

    public override string[] Make(string seedDir, string caseDir, Random? random)
    {
        bool checkpoint = random?.Next(2) == 0;
        CopyMutated(seedDir, caseDir, "model.bin", checkpoint ? random : null, (b, r) => Mutations.Bytes(b, r, 0, r.Next(4) == 0 ? b.Length : HeaderBytes));
        CopyMutated(seedDir, caseDir, "tok.bin", checkpoint ? null : random, (b, r) => Mutations.Bytes(b, r));
        return ["convert", "model.bin", "out.gguf", "--vocab", "tok.bin"];
    }
}

/// <summary>
/// Legacy GGML files of 2023 (ggml, ggmf v1, ggjt v1 and v3), converted with <c>llama-aot convert old.bin out.gguf</c>:
/// header, vocabulary and tensor records take half the mutations, the rest land anywhere.
/// </summary>
internal sealed class LegacyGgmlTarget : FuzzTarget
{
    private static readonly (string File, string Type, uint Magic, uint Version)[] Seeds =
    [
        ("ggml.bin", "F32", LegacyGgmlWriter.Ggml, 0),
        ("ggmf-v1.bin", "F16", LegacyGgmlWriter.Ggmf, 1),
        ("ggjt-v1.bin", "Q4_0", LegacyGgmlWriter.Ggjt, 1),
        ("ggjt-v3.bin", "Q8_0", LegacyGgmlWriter.Ggjt, 3),
    ];

    /// <summary>The header and the 512-token vocabulary of stories260K fit in this many bytes.</summary>
    private const int HeadBytes = 16 << 10;

    public override string Name => "ggml-legacy";

    public override void Prepare(string seedDir)
    {
        foreach (var (file, type, magic, version) in Seeds)
            LegacyGgmlWriter.Write(Path.Combine(seedDir, file), Shared.Stories260K(type), magic, version);
    }

    public override string[] Make(string seedDir, string caseDir, Random? random)
    {
        string file = Seeds[random?.Next(Seeds.Length) ?? Seeds.Length - 1].File;
        CopyMutated(seedDir, caseDir, file, random, (b, r) => Mutations.Bytes(b, r, 0, r.Next(2) == 0 ? HeadBytes : b.Length));
        return ["convert", file, "out.gguf"];
    }
}
