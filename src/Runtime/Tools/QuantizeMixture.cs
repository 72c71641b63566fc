using LlamaAot.Diagnostics;
using LlamaAot.Gguf;

namespace LlamaAot.Tools;

/// <summary>
/// What llama.cpp's mixture rules read about a model: hyperparameters from its metadata and counts over its tensor
/// names (llama-quant.cpp's <c>quantize_state_impl</c> and <c>llama_hparams</c>).
/// </summary>
/// <param name="Architecture">general.architecture ("llama", "falcon", ...).</param>
/// <param name="NLayer">{arch}.block_count.</param>
/// <param name="NHead">{arch}.attention.head_count (of layer 0 when given per layer).</param>
/// <param name="NHeadKv">{arch}.attention.head_count_kv (of layer 0), default NHead.</param>
/// <param name="NExpert">{arch}.expert_count, default 0.</param>
/// <param name="HasOutput">Whether output.weight exists (otherwise token_embd.weight is also the output matrix).</param>
/// <param name="NAttentionWv">Tensors in attn_v's category (<see cref="QuantizeMixture.IsAttentionV"/>).</param>
public sealed record ModelFacts(string Architecture, int NLayer, int NHead, int NHeadKv, int NExpert, bool HasOutput, int NAttentionWv)
{
    /// <summary>llama_hparams::n_gqa() of layer 0: query heads per KV head (0 without KV heads).</summary>
    public int NGqa => NHeadKv == 0 ? 0 : NHead / NHeadKv;

    public bool IsFalcon => Architecture == "falcon";

    /// <summary>
    /// llama.cpp's LLM_TYPE_70B for the llama architecture: 80 layers with grouped-query attention (80 layers with as
    /// many KV heads as query heads is the 65B). Other architectures' 70B sizes are not recognized here.
    /// </summary>
    public bool Is70B => Architecture == "llama" && NLayer == 80 && NHead != NHeadKv;

    public static ModelFacts From(GgufFile file)
    {
        var m = file.Metadata;
        string arch = m.GetString("general.architecture")
            ?? throw new GgufFormatException("missing metadata key 'general.architecture': llama.cpp cannot load this model, so it is not quantized");
        int nHead = FirstLayer(m, $"{arch}.attention.head_count", 0);
        int nWv = file.Tensors.Count(t => QuantizeMixture.IsAttentionV(QuantizeMixture.CategoryOf(t.Name)));
        return new ModelFacts(
            arch,
            m.GetInt32($"{arch}.block_count", 0),
            nHead,
            FirstLayer(m, $"{arch}.attention.head_count_kv", nHead),
            m.GetInt32($"{arch}.expert_count", 0),
            file.Tensors.Any(t => QuantizeMixture.CategoryOf(t.Name) == TensorCategory.Output),
            nWv);
    }

    /// <summary>A per-layer hyperparameter, which GGUF holds as one integer or an array with one per layer.</summary>
    private static int FirstLayer(GgufMetadata m, string key, int fallback)
    {
        if (m.TryGet(key, out var v) && v.Value is GgufArray { Count: > 0 } array && array.Items.GetValue(0) is { } first)
            return new GgufValue(array.ElementType, first).TryGetInt64(out long l) ? checked((int)l) : fallback;
        return m.GetInt32(key, fallback);
    }
}

/// <summary>
/// The kind of weight a tensor is to llama-quantize's rules, from its name (llama-quant.cpp's <c>tensor_category</c>):
/// broad roles shared by every architecture, not per-architecture names.
/// </summary>
public enum TensorCategory
{
    TokenEmbedding,
    AttentionQ,
    AttentionV,
    AttentionK,
    AttentionQkv,
    AttentionKvB,
    AttentionOutput,
    FfnUp,
    FfnGate,
    FfnDown,
    Output,
    Other,
}

/// <summary>
/// Picks each tensor's type the way llama-quantize does: a port of llama.cpp 0.5.0's <c>llama_tensor_get_type_impl</c>
/// (src/llama-quant.cpp) for the recipes in <see cref="QuantizeRecipe.All"/>, followed by the fallback for rows that
/// are not a whole number of blocks. Stateful, like llama.cpp's: the attn_v and ffn_* counters advance as tensors
/// are asked about, so tensors must be asked about once each, in the order llama-quantize writes them
/// (<see cref="Quantizer.WriteOrder"/>). Rules for recipes outside this tool's list (IQ1/IQ2/IQ3, Q2_K_S, TQ, MXFP4)
/// are left out.
/// </summary>
public sealed class QuantizeMixture(QuantizeRecipe recipe, ModelFacts model)
{
    private int _iAttentionWv, _iFfnDown, _iFfnGate, _iFfnUp;

    /// <summary>llama.cpp's tensor_get_category: the first role whose name part the tensor's name contains.</summary>
    public static TensorCategory CategoryOf(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        bool Has(string part) => name.Contains(part, StringComparison.Ordinal);
        return name switch
        {
            "output.weight" => TensorCategory.Output,
            "token_embd.weight" or "per_layer_token_embd.weight" => TensorCategory.TokenEmbedding,
            _ when Has("attn_qkv.weight") => TensorCategory.AttentionQkv,
            _ when Has("attn_kv_b.weight") => TensorCategory.AttentionKvB,
            _ when Has("attn_v.weight") => TensorCategory.AttentionV,
            _ when Has("attn_k.weight") => TensorCategory.AttentionK,
            _ when Has("attn_q.weight") => TensorCategory.AttentionQ,
            _ when Has("attn_output.weight") => TensorCategory.AttentionOutput,
            _ when Has("ffn_up") => TensorCategory.FfnUp,
            _ when Has("ffn_gate") => TensorCategory.FfnGate,
            _ when Has("ffn_down") => TensorCategory.FfnDown,
            _ => TensorCategory.Other,
        };
    }

    /// <summary>
    /// llama.cpp's category_is_attn_v: V, fused Q/K/V and MLA's KV-b projections all hold the values, the weights
    /// most sensitive to quantization, so they share attn_v's rules and counter.
    /// </summary>
    public static bool IsAttentionV(TensorCategory category) =>
        category is TensorCategory.AttentionV or TensorCategory.AttentionQkv or TensorCategory.AttentionKvB;

    /// <summary>Whether a tensor is the output matrix: output.weight, or a token embedding standing in for it (tied).</summary>
    public bool IsOutput(TensorCategory category) =>
        category == TensorCategory.Output || (!model.HasOutput && category == TensorCategory.TokenEmbedding);

    /// <summary>
    /// The type of a weight that llama-quantize quantizes (see <see cref="Quantizer.IsQuantizable"/>), before
    /// explicit overrides and the fallback; it starts from the recipe's base type.
    /// </summary>
    public GgmlType Choose(string name, long columns)
    {
        var f = recipe.FileType;
        var type = recipe.BaseType;
        var category = CategoryOf(name);

        if (IsOutput(category))
        {
            if (model.IsFalcon || !Fits(type, columns))
                type = GgmlType.Q8_0;
            else if (type != GgmlType.Q8_0)
                type = GgmlType.Q6_K;
        }
        else if (category == TensorCategory.TokenEmbedding)
        {
            // Unchanged for every recipe here (only IQ1/IQ2/IQ3, TQ and Q2_0 recipes change it).
        }
        else if (IsAttentionV(category))
        {
            // 0.5.0 reaches this before its attn_qkv rule (b4748's Q5_K for Q4_K_M), which is therefore never used.
            if (f == LlamaFileType.MostlyQ2_K)
                type = model.NGqa >= 4 ? GgmlType.Q4_K : GgmlType.Q3_K;
            else if (f == LlamaFileType.MostlyQ3_K_M)
                type = _iAttentionWv < 2 ? GgmlType.Q5_K : GgmlType.Q4_K;
            else if (f == LlamaFileType.MostlyQ3_K_L)
                type = GgmlType.Q5_K;
            else if (f is LlamaFileType.MostlyIQ4_NL or LlamaFileType.MostlyIQ4_XS && model.NGqa >= 4)
                type = GgmlType.Q5_K;
            else if (f is LlamaFileType.MostlyQ4_K_M or LlamaFileType.MostlyQ5_K_M && UseMoreBits(_iAttentionWv, model.NAttentionWv))
                type = GgmlType.Q6_K;
            else if (f == LlamaFileType.MostlyQ4_K_S && _iAttentionWv < 4)
                type = GgmlType.Q5_K;
            // 70B: 8 query heads share each V head, so attn_v is 8x smaller than attn_q; more bits cost little.
            if (model.Is70B && type is GgmlType.Q3_K or GgmlType.Q4_K)
                type = GgmlType.Q5_K;
            if (model.NExpert == 8)
                type = GgmlType.Q8_0;
            _iAttentionWv++;
        }
        else if (category == TensorCategory.AttentionK)
        {
            if (model.NExpert == 8)
                type = GgmlType.Q8_0;
        }
        else if (category == TensorCategory.AttentionQ)
        {
            // Only IQ3 recipes change attn_q.
        }
        else if (category == TensorCategory.FfnDown)
        {
            var (i, n) = LayerInfo(_iFfnDown, name);
            if (f == LlamaFileType.MostlyQ2_K)
                type = GgmlType.Q3_K;
            else if (f == LlamaFileType.MostlyQ3_K_M)
                type = i < n / 16 ? GgmlType.Q5_K : !model.IsFalcon || UseMoreBits(i, n) ? GgmlType.Q4_K : GgmlType.Q3_K;
            else if (f == LlamaFileType.MostlyQ3_K_L)
                type = model.IsFalcon ? GgmlType.Q4_K : GgmlType.Q5_K;
            else if (f == LlamaFileType.MostlyQ4_K_M)
            {
                if (model.IsFalcon)
                    type = i < n / 16 ? GgmlType.Q6_K : UseMoreBits(i, n) ? GgmlType.Q5_K : GgmlType.Q4_K;
                else if (UseMoreBits(i, n))
                    type = GgmlType.Q6_K;
            }
            else if (i < n / 8 && f is LlamaFileType.MostlyIQ4_NL or LlamaFileType.MostlyIQ4_XS)
                type = GgmlType.Q5_K; // llama.cpp: only without an importance matrix, which this tool never has
            else if (f == LlamaFileType.MostlyQ5_K_M && UseMoreBits(i, n))
                type = GgmlType.Q6_K;
            else if (f == LlamaFileType.MostlyQ4_K_S && !model.IsFalcon && i < n / 8)
                type = GgmlType.Q5_K;
            _iFfnDown++;
        }
        else if (category == TensorCategory.AttentionOutput)
        {
            if (!model.IsFalcon)
            {
                if (model.NExpert == 8)
                {
                    if (f is LlamaFileType.MostlyQ2_K or LlamaFileType.MostlyQ3_K_S or LlamaFileType.MostlyQ3_K_M or LlamaFileType.MostlyIQ4_NL
                        or LlamaFileType.MostlyQ4_K_S or LlamaFileType.MostlyQ4_K_M or LlamaFileType.MostlyIQ4_XS)
                        type = GgmlType.Q5_K;
                }
                else if (f == LlamaFileType.MostlyQ2_K)
                    type = GgmlType.Q3_K;
                else if (f == LlamaFileType.MostlyQ3_K_M)
                    type = GgmlType.Q4_K;
                else if (f == LlamaFileType.MostlyQ3_K_L)
                    type = GgmlType.Q5_K;
            }
            else if (f == LlamaFileType.MostlyQ3_K_L)
                type = GgmlType.Q4_K;
        }
        else if (category == TensorCategory.FfnGate)
        {
            _ = LayerInfo(_iFfnGate, name); // only IQ3_XS changes ffn_gate; the counter still advances
            _iFfnGate++;
        }
        else if (category == TensorCategory.FfnUp)
        {
            _ = LayerInfo(_iFfnUp, name);
            _iFfnUp++;
        }
        return type;
    }

    /// <summary>
    /// The fallback for a row of <paramref name="columns"/> values that is not a whole number of
    /// <paramref name="type"/>'s blocks (tensor_type_fallback): a K-quant or IQ4_XS falls back to a 32-block type of
    /// about the same size, and a row that is not even a multiple of 32 to F16, as does a 32-block type (Q4_0, Q8_0,
    /// IQ4_NL, ...; llama-quantize b4748 refused those, 0.5.0 writes F16). Q2_K and Q3_K fall back to IQ4_NL as in
    /// b4748, whose files ../shared's stories260K Q2_K and Q3_K_M are; 0.5.0 gives Q4_0 instead. Returns
    /// <paramref name="type"/> itself when the rows fit.
    /// </summary>
    public static GgmlType Fallback(GgmlType type, long columns)
    {
        if (Fits(type, columns))
            return type;
        var fallback = type switch
        {
            GgmlType.Q2_K or GgmlType.Q3_K or GgmlType.IQ4_XS => GgmlType.IQ4_NL,
            GgmlType.Q4_K => GgmlType.Q5_0,
            GgmlType.Q5_K => GgmlType.Q5_1,
            GgmlType.Q6_K => GgmlType.Q8_0,
            _ => GgmlType.F16,
        };
        return Fits(fallback, columns) ? fallback : GgmlType.F16;
    }

    private static bool Fits(GgmlType type, long columns) => columns % GgmlTypes.GeometryOf(type).BlockSize == 0;

    /// <summary>llama.cpp's use_more_bits: the first and last eighth of the layers, and every third one between.</summary>
    public static bool UseMoreBits(int i, int n) => i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;

    /// <summary>
    /// The layer of an ffn tensor and the layer count: the running counter in a dense model; in a mixture of experts
    /// (whose expert tensors are not in layer order), the number in the name.
    /// </summary>
    private (int Layer, int Layers) LayerInfo(int counter, string name)
    {
        if (Math.Max(1, model.NExpert) == 1)
            return (counter, model.NLayer);
        int layer = Quantizer.LayerOf(name);
        if (layer < 0 || layer >= model.NLayer)
            throw new QuantizeException($"tensor {Excerpt.Quote(name)}: cannot tell its layer (expected blk.N. with N in [0, {model.NLayer}))");
        return (layer, model.NLayer);
    }
}

/// <summary>A model that cannot be quantized as asked (one clear sentence).</summary>
public sealed class QuantizeException(string message) : Exception(message);
