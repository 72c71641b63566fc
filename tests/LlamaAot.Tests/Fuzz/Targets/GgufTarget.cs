using LlamaAot.Gguf;

namespace LlamaAot.Tests.Fuzz.Targets;

/// <summary>
/// GGUF model files (the reader, the model config, the tensor bindings, the vocabulary): stories260K with K-quant
/// and legacy blocks, mutated in its header, metadata and tensor table, then loaded and run for a few tokens.
/// </summary>
internal sealed class GgufTarget : FuzzTarget
{
    private const string File = "model.gguf";
    private int _dataOffset;

    public override string Name => "gguf";

    public override void Prepare(string seedDir)
    {
        string source = Shared.Stories260K("Q4_K_M");
        System.IO.File.Copy(source, Path.Combine(seedDir, File));
        using var gguf = GgufFile.Open(source);
        _dataOffset = (int)gguf.DataOffset;
    }

    public override string[] Make(string seedDir, string caseDir, Random? random)
    {
        CopyMutated(seedDir, caseDir, File, random, (b, r) => Mutations.Bytes(b, r, 0, _dataOffset));
        return ["-m", File, "-p", "Once upon a time", "-n", "4", "-c", "64", "--temp", "0", "-t", "1"];
    }
}
