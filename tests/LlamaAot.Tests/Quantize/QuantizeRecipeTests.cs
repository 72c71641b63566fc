using LlamaAot.Gguf;
using LlamaAot.Tools;

namespace LlamaAot.Tests.Quantize;

/// <summary>
/// The mixture rules on shapes the reference files do not have (8 layers, 4 query heads per KV head, tied
/// embeddings, 256-wide rows so no fallback interferes). Expectations are worked out by hand from llama.cpp's
/// llama_tensor_get_type_impl (0.5.0); use_more_bits(i, 8) holds for layers 0, 3, 6 and 7.
/// </summary>
public class QuantizeRecipeTests
{
    [Theory]
    [InlineData("q4_k_m", "Q4_K_M")]
    [InlineData("Q4_K", "Q4_K_M")]
    [InlineData("q3_k", "Q3_K_M")]
    [InlineData("Q5_K", "Q5_K_M")]
    [InlineData("15", "Q4_K_M")]
    [InlineData("2", "Q4_0")]
    [InlineData("bf16", "BF16")]
    public void FindsRecipesByNameAliasAndNumber(string name, string expected) => Assert.Equal(expected, QuantizeRecipe.Find(name)!.Name);

    [Theory]
    [InlineData("Q4_K_X")]
    [InlineData("4")] // a retired file type id
    [InlineData("")]
    public void UnknownRecipesAreNull(string name) => Assert.Null(QuantizeRecipe.Find(name));

    [Fact]
    public void UseMoreBitsPicksFirstLastAndEveryThirdLayer()
    {
        Assert.Equal([0, 3, 6, 7], Enumerable.Range(0, 8).Where(i => QuantizeMixture.UseMoreBits(i, 8)));
        Assert.Equal([0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31], Enumerable.Range(0, 32).Where(i => QuantizeMixture.UseMoreBits(i, 32)));
    }

    [Theory]
    [InlineData(GgmlType.Q4_K, 256, GgmlType.Q4_K)]
    [InlineData(GgmlType.Q4_K, 64, GgmlType.Q5_0)]
    [InlineData(GgmlType.Q5_K, 64, GgmlType.Q5_1)]
    [InlineData(GgmlType.Q6_K, 96, GgmlType.Q8_0)]
    [InlineData(GgmlType.Q2_K, 32, GgmlType.IQ4_NL)]
    [InlineData(GgmlType.Q3_K, 64, GgmlType.IQ4_NL)]
    [InlineData(GgmlType.IQ4_XS, 64, GgmlType.IQ4_NL)]
    [InlineData(GgmlType.Q4_K, 172, GgmlType.F16)]
    [InlineData(GgmlType.Q4_0, 172, GgmlType.F16)]
    [InlineData(GgmlType.Q8_0, 172, GgmlType.F16)]
    [InlineData(GgmlType.F16, 172, GgmlType.F16)]
    public void FallsBackForRowsTheTypeCannotHold(GgmlType type, long columns, GgmlType expected) =>
        Assert.Equal(expected, QuantizeMixture.Fallback(type, columns));

    [Fact]
    public void Q4_K_MGivesMoreBitsToSomeLayers()
    {
        var types = PlanTypes("Q4_K_M", tied: false);
        Assert.Equal(GgmlType.Q6_K, types["output.weight"]);
        Assert.Equal(GgmlType.Q4_K, types["token_embd.weight"]);
        Assert.Equal(GgmlType.F32, types["output_norm.weight"]);
        for (int i = 0; i < 8; i++)
        {
            var more = i is 0 or 3 or 6 or 7 ? GgmlType.Q6_K : GgmlType.Q4_K;
            Assert.Equal(more, types[$"blk.{i}.attn_v.weight"]);
            Assert.Equal(more, types[$"blk.{i}.ffn_down.weight"]);
            Assert.Equal(GgmlType.Q4_K, types[$"blk.{i}.attn_q.weight"]);
            Assert.Equal(GgmlType.Q4_K, types[$"blk.{i}.ffn_up.weight"]);
            Assert.Equal(GgmlType.F32, types[$"blk.{i}.attn_norm.weight"]);
        }
    }

    [Fact]
    public void Q3_K_MAndQ2_KFollowTheirRules()
    {
        var q3 = PlanTypes("Q3_K_M", tied: false);
        for (int i = 0; i < 8; i++)
        {
            Assert.Equal(i < 2 ? GgmlType.Q5_K : GgmlType.Q4_K, q3[$"blk.{i}.attn_v.weight"]);
            Assert.Equal(GgmlType.Q4_K, q3[$"blk.{i}.ffn_down.weight"]); // i < 8/16 never; not Falcon
            Assert.Equal(GgmlType.Q4_K, q3[$"blk.{i}.attn_output.weight"]);
            Assert.Equal(GgmlType.Q3_K, q3[$"blk.{i}.ffn_gate.weight"]);
        }
        var q2 = PlanTypes("Q2_K", tied: false);
        Assert.Equal(GgmlType.Q4_K, q2["blk.5.attn_v.weight"]); // 4 query heads per KV head
        Assert.Equal(GgmlType.Q3_K, q2["blk.5.ffn_down.weight"]);
        Assert.Equal(GgmlType.Q3_K, q2["blk.5.attn_output.weight"]);
        Assert.Equal(GgmlType.Q2_K, q2["blk.5.attn_k.weight"]);
    }

    [Fact]
    public void IQ4_XSAndQ4_K_SRules()
    {
        var iq = PlanTypes("IQ4_XS", tied: false);
        Assert.Equal(GgmlType.Q5_K, iq["blk.4.attn_v.weight"]); // n_gqa >= 4
        Assert.Equal(GgmlType.Q5_K, iq["blk.0.ffn_down.weight"]); // first eighth
        Assert.Equal(GgmlType.IQ4_XS, iq["blk.1.ffn_down.weight"]);
        var s = PlanTypes("Q4_K_S", tied: false);
        Assert.Equal([GgmlType.Q5_K, GgmlType.Q5_K, GgmlType.Q5_K, GgmlType.Q5_K, GgmlType.Q4_K], Enumerable.Range(0, 5).Select(i => s[$"blk.{i}.attn_v.weight"]));
        Assert.Equal(GgmlType.Q5_K, s["blk.0.ffn_down.weight"]);
        Assert.Equal(GgmlType.Q4_K, s["blk.1.ffn_down.weight"]);
    }

    [Fact]
    public void TiedEmbeddingsAreTreatedAsTheOutput()
    {
        var types = PlanTypes("Q4_0", tied: true);
        Assert.Equal(GgmlType.Q6_K, types["token_embd.weight"]);
        Assert.Equal(GgmlType.Q4_0, types["blk.0.attn_q.weight"]);
    }

    [Fact]
    public void PureAndOverrides()
    {
        var pure = PlanTypes("Q4_K_M", tied: false, o => o with { Pure = true });
        Assert.All(pure.Where(kv => !kv.Key.Contains("norm")), kv => Assert.Equal(GgmlType.Q4_K, kv.Value));
        var overridden = PlanTypes("Q4_K_M", tied: false, o => o with { OutputTensorType = GgmlType.Q8_0, TokenEmbeddingType = GgmlType.F16 });
        Assert.Equal(GgmlType.Q8_0, overridden["output.weight"]);
        Assert.Equal(GgmlType.F16, overridden["token_embd.weight"]);
        var f16 = PlanTypes("F16", tied: false, o => o with { OutputTensorType = GgmlType.Q6_K });
        Assert.Equal(GgmlType.Q6_K, f16["output.weight"]); // overrides apply without mixture rules too
        Assert.Equal(GgmlType.F16, f16["blk.3.attn_v.weight"]);
    }

    /// <summary>
    /// llama.cpp 0.5.0 puts attn_qkv (Phi-3's fused Q/K/V) and attn_kv_b in attn_v's category (category_is_attn_v):
    /// they get attn_v's rules and count with it; b4748's own attn_qkv rule (Q5_K for Q4_K_M) is gone.
    /// </summary>
    [Theory]
    [InlineData("attn_qkv")]
    [InlineData("attn_kv_b")]
    public void FusedQkvAndKvBFollowTheAttnVRules(string matrix)
    {
        string[] matrices = [matrix, "attn_output", "ffn_up", "ffn_down"];
        var m = PlanTypes("Q4_K_M", tied: false, matrices: matrices);
        var q3 = PlanTypes("Q3_K_M", tied: false, matrices: matrices);
        var s = PlanTypes("Q4_K_S", tied: false, matrices: matrices);
        for (int i = 0; i < 8; i++)
        {
            Assert.Equal(i is 0 or 3 or 6 or 7 ? GgmlType.Q6_K : GgmlType.Q4_K, m[$"blk.{i}.{matrix}.weight"]);
            Assert.Equal(i < 2 ? GgmlType.Q5_K : GgmlType.Q4_K, q3[$"blk.{i}.{matrix}.weight"]);
            Assert.Equal(i < 4 ? GgmlType.Q5_K : GgmlType.Q4_K, s[$"blk.{i}.{matrix}.weight"]);
        }
    }

    /// <summary>
    /// per_layer_token_embd (Gemma 3n) is a token embedding to llama.cpp 0.5.0: with tied embeddings it gets the
    /// output's type, and --token-embedding-type sets it.
    /// </summary>
    [Fact]
    public void PerLayerTokenEmbeddingIsATokenEmbedding()
    {
        string[] matrices = ["attn_q", "ffn_down"];
        Assert.Equal(GgmlType.Q6_K, PlanTypes("Q4_K_M", tied: true, matrices: matrices, extra: "per_layer_token_embd.weight")["per_layer_token_embd.weight"]);
        Assert.Equal(GgmlType.Q4_K, PlanTypes("Q4_K_M", tied: false, matrices: matrices, extra: "per_layer_token_embd.weight")["per_layer_token_embd.weight"]);
        var overridden = PlanTypes("Q4_K_M", tied: false, o => o with { TokenEmbeddingType = GgmlType.Q8_0 }, matrices, "per_layer_token_embd.weight");
        Assert.Equal(GgmlType.Q8_0, overridden["per_layer_token_embd.weight"]);
    }

    /// <summary>Weights llama.cpp 0.5.0's tensor_allows_quantization keeps as they are (beyond norms and b4748's list).</summary>
    [Theory]
    [InlineData("blk.0.altup_proj.weight")]
    [InlineData("blk.0.laurel_l.weight")]
    [InlineData("per_layer_model_proj.weight")]
    [InlineData("blk.0.ffn_gate_tid2eid.weight")]
    [InlineData("blk.0.shortconv.conv.weight")]
    [InlineData("blk.0.indexer.k_proj.weight")]
    [InlineData("blk.0.time_mix_w0.weight")]
    [InlineData("blk.0.time_mix_g2.weight")]
    [InlineData("v.patch_embd.weight")]
    [InlineData("mm.a.code_embd.weight")]
    public void KeepsTheWeightsLlamaCppKeeps(string name)
    {
        Assert.False(Quantizer.IsQuantizable(name, [256, 256]));
        Assert.True(Quantizer.IsQuantizable("blk.0.attn_q.weight", [256, 256]));
    }

    /// <summary>
    /// Plans a synthetic 8-layer model (8 heads, 2 KV heads, 256-wide rows; per layer <paramref name="matrices"/>, by
    /// default llama's, plus <paramref name="extra"/>) and returns each tensor's type.
    /// </summary>
    private static Dictionary<string, GgmlType> PlanTypes(string recipe, bool tied, Func<QuantizeOptions, QuantizeOptions>? adjust = null,
        string[]? matrices = null, string? extra = null)
    {
        string path = TempFile.Path($"recipe-{recipe}-{tied}");
        try
        {
            var w = new GgufWriter();
            w.Add("general.architecture", "llama");
            w.Add("llama.block_count", 8u);
            w.Add("llama.attention.head_count", 8u);
            w.Add("llama.attention.head_count_kv", 2u);
            var matrix = new float[256 * 2];
            var norm = new float[256];
            w.AddTensor("token_embd.weight", [256, 2], matrix);
            w.AddTensor("output_norm.weight", [256], norm);
            if (!tied)
                w.AddTensor("output.weight", [256, 2], matrix);
            if (extra is not null)
                w.AddTensor(extra, [256, 2], matrix);
            for (int i = 0; i < 8; i++)
            {
                foreach (string m in matrices ?? ["attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"])
                    w.AddTensor($"blk.{i}.{m}.weight", [256, 2], matrix);
                w.AddTensor($"blk.{i}.attn_norm.weight", [256], norm);
                w.AddTensor($"blk.{i}.ffn_norm.weight", [256], norm);
            }
            w.WriteTo(path);
            using var file = GgufFile.Open(path);
            var options = new QuantizeOptions { Recipe = QuantizeRecipe.Find(recipe)! };
            return Quantizer.Plan(file, adjust is null ? options : adjust(options)).ToDictionary(t => t.Name, t => t.Type);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
