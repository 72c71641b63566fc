namespace LlamaAot.Gguf;

/// <summary>
/// llama.cpp's file types (<c>enum llama_ftype</c>, written as <c>general.file_type</c>): the recipe a model was
/// quantized with. The numbers are on the wire: never renumber. Gaps are retired ids.
/// </summary>
public enum LlamaFileType
{
    AllF32 = 0,
    MostlyF16 = 1,
    MostlyQ4_0 = 2,
    MostlyQ4_1 = 3,
    MostlyQ8_0 = 7,
    MostlyQ5_0 = 8,
    MostlyQ5_1 = 9,
    MostlyQ2_K = 10,
    MostlyQ3_K_S = 11,
    MostlyQ3_K_M = 12,
    MostlyQ3_K_L = 13,
    MostlyQ4_K_S = 14,
    MostlyQ4_K_M = 15,
    MostlyQ5_K_S = 16,
    MostlyQ5_K_M = 17,
    MostlyQ6_K = 18,
    MostlyIQ2_XXS = 19,
    MostlyIQ2_XS = 20,
    MostlyQ2_K_S = 21,
    MostlyIQ3_XS = 22,
    MostlyIQ3_XXS = 23,
    MostlyIQ1_S = 24,
    MostlyIQ4_NL = 25,
    MostlyIQ3_S = 26,
    MostlyIQ3_M = 27,
    MostlyIQ2_S = 28,
    MostlyIQ2_M = 29,
    MostlyIQ4_XS = 30,
    MostlyIQ1_M = 31,
    MostlyBF16 = 32,
    MostlyTQ1_0 = 36,
    MostlyTQ2_0 = 37,
}

public static class LlamaFileTypes
{
    /// <summary>The file type of a model whose weights are all <paramref name="type"/> (llama-quantize's "pure" recipes).</summary>
    public static LlamaFileType? Pure(GgmlType type) => type switch
    {
        GgmlType.F32 => LlamaFileType.AllF32,
        GgmlType.F16 => LlamaFileType.MostlyF16,
        GgmlType.BF16 => LlamaFileType.MostlyBF16,
        GgmlType.Q4_0 => LlamaFileType.MostlyQ4_0,
        GgmlType.Q4_1 => LlamaFileType.MostlyQ4_1,
        GgmlType.Q5_0 => LlamaFileType.MostlyQ5_0,
        GgmlType.Q5_1 => LlamaFileType.MostlyQ5_1,
        GgmlType.Q8_0 => LlamaFileType.MostlyQ8_0,
        GgmlType.Q2_K => LlamaFileType.MostlyQ2_K,
        GgmlType.Q3_K => LlamaFileType.MostlyQ3_K_S,
        GgmlType.Q4_K => LlamaFileType.MostlyQ4_K_S,
        GgmlType.Q5_K => LlamaFileType.MostlyQ5_K_S,
        GgmlType.Q6_K => LlamaFileType.MostlyQ6_K,
        GgmlType.IQ4_NL => LlamaFileType.MostlyIQ4_NL,
        GgmlType.IQ4_XS => LlamaFileType.MostlyIQ4_XS,
        _ => null,
    };

    /// <summary>The name llama.cpp prints for a file type (llama_model_ftype_name), e.g. "Q4_K - Medium".</summary>
    public static string Name(LlamaFileType type) => type switch
    {
        LlamaFileType.AllF32 => "all F32",
        LlamaFileType.MostlyF16 => "F16",
        LlamaFileType.MostlyBF16 => "BF16",
        LlamaFileType.MostlyQ4_0 => "Q4_0",
        LlamaFileType.MostlyQ4_1 => "Q4_1",
        LlamaFileType.MostlyQ5_0 => "Q5_0",
        LlamaFileType.MostlyQ5_1 => "Q5_1",
        LlamaFileType.MostlyQ8_0 => "Q8_0",
        LlamaFileType.MostlyQ2_K => "Q2_K - Medium",
        LlamaFileType.MostlyQ2_K_S => "Q2_K - Small",
        LlamaFileType.MostlyQ3_K_S => "Q3_K - Small",
        LlamaFileType.MostlyQ3_K_M => "Q3_K - Medium",
        LlamaFileType.MostlyQ3_K_L => "Q3_K - Large",
        LlamaFileType.MostlyQ4_K_S => "Q4_K - Small",
        LlamaFileType.MostlyQ4_K_M => "Q4_K - Medium",
        LlamaFileType.MostlyQ5_K_S => "Q5_K - Small",
        LlamaFileType.MostlyQ5_K_M => "Q5_K - Medium",
        LlamaFileType.MostlyQ6_K => "Q6_K",
        LlamaFileType.MostlyIQ4_NL => "IQ4_NL - 4.5 bpw",
        LlamaFileType.MostlyIQ4_XS => "IQ4_XS - 4.25 bpw",
        LlamaFileType.MostlyIQ2_XXS => "IQ2_XXS - 2.0625 bpw",
        LlamaFileType.MostlyIQ2_XS => "IQ2_XS - 2.3125 bpw",
        LlamaFileType.MostlyIQ2_S => "IQ2_S - 2.5 bpw",
        LlamaFileType.MostlyIQ2_M => "IQ2_M - 2.7 bpw",
        LlamaFileType.MostlyIQ3_XS => "IQ3_XS - 3.3 bpw",
        LlamaFileType.MostlyIQ3_XXS => "IQ3_XXS - 3.0625 bpw",
        LlamaFileType.MostlyIQ3_S => "IQ3_S - 3.4375 bpw",
        LlamaFileType.MostlyIQ3_M => "IQ3_S mix - 3.66 bpw",
        LlamaFileType.MostlyIQ1_S => "IQ1_S - 1.5625 bpw",
        LlamaFileType.MostlyIQ1_M => "IQ1_M - 1.75 bpw",
        LlamaFileType.MostlyTQ1_0 => "TQ1_0 - 1.69 bpw ternary",
        LlamaFileType.MostlyTQ2_0 => "TQ2_0 - 2.06 bpw ternary",
        _ => "unknown, may not work",
    };
}
