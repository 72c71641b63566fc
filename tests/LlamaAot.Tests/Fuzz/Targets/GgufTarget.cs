using LlamaAot.Gguf;

namespace LlamaAot.Tests.Fuzz.Targets;

/// <summary>A GGUF file of stories260K, mutated, then given to a command.</summary>
internal abstract class GgufFileTarget : FuzzTarget
{
    protected const string File = "model.gguf";

    /// <summary>Where the tensor data starts in the seed: before it are the header, the metadata and the tensor table.</summary>
    protected int DataOffset { get; private set; }

    /// <summary>The stories260K type of the seed file.</summary>
    protected abstract string Type { get; }

    public override void Prepare(string seedDir)
    {
        string source = Shared.Stories260K(Type);
        System.IO.File.Copy(source, Path.Combine(seedDir, File));
        using var gguf = GgufFile.Open(source);
        DataOffset = (int)gguf.DataOffset;
    }
}

/// <summary>
/// GGUF model files (the reader, the model config, the tensor bindings, the vocabulary): stories260K with K-quant
/// and legacy blocks, mutated in its header, metadata and tensor table, then loaded and run for a few tokens.
/// </summary>
internal sealed class GgufTarget : GgufFileTarget
{
    public override string Name => "gguf";

    protected override string Type => "Q4_K_M";

    public override string[] Make(string seedDir, string caseDir, Random? random)
    {
        CopyMutated(seedDir, caseDir, File, random, (b, r) => Mutations.Bytes(b, r, 0, DataOffset));
        return ["-m", File, "-p", "Once upon a time", "-n", "4", "-c", "64", "--temp", "0", "-t", "1"];
    }
}

/// <summary>
/// <c>quantize</c> of an F32 GGUF (the reader, the tensor plan of llama-quantize's rules, the quantizers): the header,
/// metadata and tensor table take three mutations in four; the rest land anywhere, the weights included (NaN,
/// infinities and huge values for the quantizers).
/// </summary>
internal sealed class GgufQuantizeTarget : GgufFileTarget
{
    public override string Name => "gguf-quantize";

    protected override string Type => "F32";

    public override string[] Make(string seedDir, string caseDir, Random? random)
    {
        CopyMutated(seedDir, caseDir, File, random, (b, r) => Mutations.Bytes(b, r, 0, r.Next(4) == 0 ? b.Length : DataOffset));
        return ["quantize", File, "out.gguf", "Q4_K_M", "-t", "1"];
    }
}
