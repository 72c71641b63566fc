using LlamaAot.Gguf;

namespace LlamaAot.Tests;

public class GgufSmokeTests
{
    [Fact]
    public void ReadsStories260KF32()
    {
        using var f = GgufFile.Open(Shared.Stories260K("F32"));
        Assert.Equal(3u, f.Version);
        Assert.Equal("llama", f.Metadata.GetString("general.architecture"));
        Assert.Equal(48, f.Tensors.Count);
        Assert.Equal(512, f.Metadata.GetArray<string>("tokenizer.ggml.tokens")!.Length);
        var emb = f.FindTensor("token_embd.weight")!;
        Assert.Equal(new long[] { 64, 512 }, emb.Shape);
    }
}
