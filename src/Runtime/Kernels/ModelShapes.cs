namespace LlamaAot.Kernels;

/// <summary>
/// The model shapes kernels are specialized for (DESIGN.md). A shape whose K is not a multiple of a format's step
/// gets the generic kernel for that format, and the generator says so in a diagnostic.
/// </summary>
[ModelShape("stories260K", 64, 172)]
[ModelShape("stories15M", 288, 768)]
[ModelShape("random-e256", 256, 768)]
[ModelShape("Qwen2.5-0.5B", 896, 4864)]
[ModelShape("Qwen2.5-1.5B", 1536, 8960)]
[ModelShape("TinyLlama-1.1B", 2048, 5632)]
[ModelShape("Gemma-2-2B", 2304, 9216)]
[ModelShape("Phi-3-mini", 3072, 8192)]
[ModelShape("Llama-2-7B", 4096, 11008)]
[ModelShape("Llama-3-8B / Mistral-7B", 4096, 14336)]
internal static partial class ModelShapes;
