using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;
using LLama;
using LLama.Native;

namespace LlamaAot.LlamaCpp.Tests;

/// <summary>
/// One model file loaded by llama.cpp in-process (LLamaSharp), for the tokenizer and generation comparisons: its
/// tokenizer (<c>llama_tokenize</c>, <c>llama_token_to_piece</c>, <c>llama_detokenize</c>), its end-of-generation
/// set, and greedy decoding in the settings of <see cref="LlamaCpp"/>.
/// </summary>
internal sealed class LlamaCppModel : IDisposable
{
    private readonly LLamaWeights _weights;
    private readonly string _path;

    public LlamaCppModel(string path)
    {
        _path = path;
        _weights = LLamaWeights.LoadFromFile(LlamaCpp.Parameters(path));
    }

    /// <summary>A greedy continuation: the prompt's tokens, then each generated id with llama.cpp's own gap between
    /// its best and second-best logit at that step (how near a tie the choice was).</summary>
    public sealed record Continuation(int[] Prompt, int[] Ids, float[] Top2Gaps);

    public int VocabularySize => _weights.Vocab.Count;

    /// <summary><c>llama_tokenize</c> of the text in UTF-8.</summary>
    public int[] Tokenize(string text, bool addSpecial, bool parseSpecial) => Tokenize(Encoding.UTF8.GetBytes(text), addSpecial, parseSpecial);

    /// <summary><c>llama_tokenize</c> of any bytes (LLamaSharp's own binding takes only strings).</summary>
    public int[] Tokenize(byte[] text, bool addSpecial, bool parseSpecial)
    {
        var tokens = new int[text.Length + 2];
        int n = Native.llama_tokenize(Vocab, text, text.Length, tokens, tokens.Length, addSpecial, parseSpecial);
        if (n < 0)
            throw new InvalidOperationException($"llama_tokenize failed: {n}");
        return tokens[..n];
    }

    /// <summary><c>llama_vocab_is_eog</c>.</summary>
    public bool IsEndOfGeneration(int id) => ((LLamaToken)id).IsEndOfGeneration(_weights.Vocab);

    /// <summary><c>llama_token_to_piece</c> with lstrip 0: the bytes llama.cpp's examples print for a token.</summary>
    public byte[] TokenToPiece(int id, bool special)
    {
        var buffer = new byte[256];
        int n = NativeApi.llama_token_to_piece(_weights.Vocab, (LLamaToken)id, buffer, 0, special);
        if (n < 0)
        {
            buffer = new byte[-n];
            n = NativeApi.llama_token_to_piece(_weights.Vocab, (LLamaToken)id, buffer, 0, special);
        }
        return buffer[..n];
    }

    /// <summary><c>llama_detokenize</c> (LLamaSharp binds it but does not expose it).</summary>
    public byte[] Detokenize(int[] ids, bool removeSpecial, bool unparseSpecial)
    {
        var text = new byte[64];
        int n = Native.llama_detokenize(Vocab, ids, ids.Length, text, text.Length, removeSpecial, unparseSpecial);
        if (n < 0)
        {
            text = new byte[-n];
            n = Native.llama_detokenize(Vocab, ids, ids.Length, text, text.Length, removeSpecial, unparseSpecial);
        }
        return text[..n];
    }

    /// <summary>
    /// Greedy decoding as llama-cli does with --temp 0: the prompt in one batch, then <paramref name="count"/> tokens
    /// one at a time, each the argmax of the last logits (first maximum wins). With
    /// <paramref name="ignoreEndOfGeneration"/> the end-of-generation tokens are masked out first, as --ignore-eos
    /// does; otherwise they are chosen like any token.
    /// </summary>
    public Continuation Greedy(int[] prompt, int count, bool ignoreEndOfGeneration)
    {
        var parameters = LlamaCpp.Parameters(_path);
        using var context = _weights.CreateContext(parameters);
        bool[] masked = new bool[VocabularySize];
        if (ignoreEndOfGeneration)
        {
            for (int id = 0; id < masked.Length; id++)
                masked[id] = IsEndOfGeneration(id);
        }
        var batch = new LLamaBatch();
        for (int i = 0; i < prompt.Length; i++)
            batch.Add((LLamaToken)prompt[i], i, LLamaSeqId.Zero, i == prompt.Length - 1);
        var ids = new int[count];
        var gaps = new float[count];
        for (int step = 0; step < count; step++)
        {
            var result = context.Decode(batch);
            if (result != DecodeResult.Ok)
                throw new InvalidOperationException($"llama_decode failed: {result}");
            var logits = context.NativeHandle.GetLogitsIth(batch.TokenCount - 1);
            int best = -1, second = -1;
            for (int v = 0; v < logits.Length; v++)
            {
                if (masked[v])
                    continue;
                if (best < 0 || logits[v] > logits[best])
                    (second, best) = (best, v);
                else if (second < 0 || logits[v] > logits[second])
                    second = v;
            }
            ids[step] = best;
            gaps[step] = logits[best] - logits[second];
            batch.Clear();
            batch.Add((LLamaToken)best, prompt.Length + step, LLamaSeqId.Zero, true);
        }
        return new Continuation(prompt, ids, gaps);
    }

    public void Dispose() => _weights.Dispose();

    private nint Vocab => Native.llama_model_get_vocab(_weights.NativeHandle.DangerousGetHandle());

    /// <summary>llama.cpp functions LLamaSharp does not expose (or only for strings), bound to the library LLamaSharp loaded.</summary>
    private static class Native
    {
        static Native() => NativeLibrary.SetDllImportResolver(typeof(Native).Assembly, Resolve);

        [DllImport("llama")]
        public static extern nint llama_model_get_vocab(nint model);

        [DllImport("llama")]
        public static extern int llama_tokenize(
            nint vocab, byte[] text, int textLength, int[] tokens, int nTokensMax,
            [MarshalAs(UnmanagedType.U1)] bool addSpecial, [MarshalAs(UnmanagedType.U1)] bool parseSpecial);

        [DllImport("llama")]
        public static extern int llama_detokenize(
            nint vocab, int[] tokens, int nTokens, byte[] text, int textLengthMax,
            [MarshalAs(UnmanagedType.U1)] bool removeSpecial, [MarshalAs(UnmanagedType.U1)] bool unparseSpecial);

        // LLamaSharp picks one of its native builds (noavx/avx/avx2/avx512) in its own resolver; asking for "llama"
        // on its behalf returns that same, already loaded, library.
        private static nint Resolve(string name, Assembly assembly, DllImportSearchPath? path) =>
            name == "llama" ? NativeLibrary.Load(name, typeof(NativeApi).Assembly, path) : 0;
    }
}
