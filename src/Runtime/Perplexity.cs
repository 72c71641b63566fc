namespace LlamaAot;

/// <summary>
/// Perplexity of a model on a text, computed as llama.cpp's <c>llama-perplexity</c> computes it (b4748,
/// examples/perplexity/perplexity.cpp, <c>perplexity()</c> and <c>log_softmax()</c>), so the two tools' numbers can
/// be compared:
/// <list type="number">
/// <item>The text is tokenized with BOS (special tokens not parsed) and cut into n_chunk = floor(n_tokens / n_ctx)
/// chunks of n_ctx = the context's size; the tokens after the last whole chunk are ignored.</item>
/// <item>Each chunk starts from an empty KV cache with its first token replaced by BOS (when the vocabulary adds
/// BOS) and is evaluated in batches of the context's batch size.</item>
/// <item>Only the second half is scored, so every prediction has some context: the logits at positions
/// n_ctx/2 .. n_ctx-2 predict the tokens at n_ctx/2+1 .. n_ctx-1.</item>
/// <item>nll = -(logit[tok] - max - log(sum_j exp(logit_j - max))), with float differences and exponentials and a
/// double sum; PPL = exp(mean nll) and its error PPL * sqrt((mean(nll^2) - mean(nll)^2) / (N - 1)).</item>
/// </list>
/// </summary>
/// <example>
/// <code>
/// using var model = LlamaModel.Load("stories260K-Q4_0.gguf");
/// using var context = model.CreateContext(new ContextOptions { ContextSize = 128, BatchSize = 128 });
/// var result = Perplexity.Compute(context, File.ReadAllText("stories-a.txt").TrimEnd('\n'));
/// Console.WriteLine($"PPL = {result.Ppl:F4} +/- {result.PplError:F5}");
/// </code>
/// </example>
public static class Perplexity
{
    /// <summary>Tokenizes <paramref name="text"/> as llama-perplexity does (BOS added, special tokens not parsed) and scores it.</summary>
    /// <exception cref="PerplexityTextTooShortException">The text has fewer than 2 * n_ctx tokens.</exception>
    public static PerplexityResult Compute(LlamaContext context, string text, Action<PerplexityChunk>? onChunk = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(text);
        return Compute(context, context.Model.Tokenize(text, addSpecial: true, parseSpecial: false), onChunk, cancellationToken);
    }

    /// <summary>
    /// Scores already tokenized text (BOS first, as <see cref="LlamaModel.Tokenize"/> gives it) in chunks of the
    /// context's size. <paramref name="onChunk"/> hears of each chunk as soon as it is scored.
    /// </summary>
    /// <exception cref="PerplexityTextTooShortException">Fewer than 2 * n_ctx tokens (llama-perplexity's own limit).</exception>
    public static PerplexityResult Compute(LlamaContext context, ReadOnlySpan<int> tokens, Action<PerplexityChunk>? onChunk = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        int nCtx = context.ContextSize;
        var vocab = context.Model.Vocabulary;
        if (vocab.AddEos)
            throw new NotSupportedException("perplexity needs a vocabulary that does not append EOS to every text (llama-perplexity asserts the same)");
        int first = nCtx / 2;
        int scoredPerChunk = nCtx - 1 - first;
        if (scoredPerChunk < 1)
            throw new ArgumentOutOfRangeException(nameof(context), $"a context of {nCtx} tokens leaves no token to score: perplexity needs a context of at least 3");
        if (tokens.Length < 2 * nCtx)
            throw new PerplexityTextTooShortException(tokens.Length, nCtx);

        int nChunk = tokens.Length / nCtx;
        int nVocab = context.Model.Config.NVocab;
        var chunks = new PerplexityChunk[nChunk];
        var chunk = new int[nCtx];
        double nll = 0, nll2 = 0;
        int count = 0;
        for (int c = 0; c < nChunk; c++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            tokens.Slice(c * nCtx, nCtx).CopyTo(chunk);
            if (vocab.AddBos)
                chunk[0] = vocab.Bos!.Value; // loading refuses a vocabulary that adds a BOS it lacks

            // A fresh cache per chunk; the context evaluates in batches of its batch size.
            context.Reset();
            var logits = context.EvaluateAll(chunk, cancellationToken);

            double chunkNll = 0;
            for (int i = first; i < nCtx - 1; i++)
            {
                double v = -LogSoftmax(logits.Slice(i * nVocab, nVocab), chunk[i + 1]);
                chunkNll += v;
                nll += v;
                nll2 += v * v;
            }
            count += scoredPerChunk;
            chunks[c] = new PerplexityChunk(c, chunkNll, scoredPerChunk, Math.Exp(nll / count));
            onChunk?.Invoke(chunks[c]);
        }
        context.Reset();

        double mean = nll / count;
        double variance = nll2 / count - mean * mean;
        double ppl = Math.Exp(mean);
        // llama.cpp reports no error (and says so) when the variance is not positive.
        double error = variance > 0 ? ppl * Math.Sqrt(variance / (count - 1)) : double.NaN;
        return new PerplexityResult(nCtx, tokens.Length, chunks, count, mean, ppl, error);
    }

    /// <summary>
    /// log p(token) under softmax(logits): llama.cpp's <c>log_softmax</c>, with its roundings (float max and
    /// differences, float exponentials summed in double, the log taken in double).
    /// </summary>
    internal static double LogSoftmax(ReadOnlySpan<float> logits, int token)
    {
        float max = logits[0];
        for (int i = 1; i < logits.Length; i++)
            max = Math.Max(max, logits[i]);
        double sumExp = 0;
        foreach (float l in logits)
            sumExp += MathF.Exp(l - max);
        return (logits[token] - max) - Math.Log(sumExp);
    }
}

/// <summary>
/// One chunk of a perplexity run: <see cref="NllSum"/> is the sum of the negative log-likelihoods of its
/// <see cref="Scored"/> tokens; <see cref="RunningPpl"/> is exp(mean nll over chunks 0..<see cref="Index"/>), the
/// number llama-perplexity prints as <c>[Index+1]x.xxxx</c>.
/// </summary>
public readonly record struct PerplexityChunk(int Index, double NllSum, int Scored, double RunningPpl)
{
    /// <summary>This chunk's own perplexity, exp(NllSum / Scored).</summary>
    public double Ppl => Math.Exp(NllSum / Scored);
}

/// <summary>
/// The result of <see cref="Perplexity.Compute(LlamaContext, ReadOnlySpan{int}, Action{PerplexityChunk}?, CancellationToken)"/>:
/// <see cref="Ppl"/> ± <see cref="PplError"/> is llama-perplexity's "Final estimate" (the error is NaN when the
/// nll have no positive variance).
/// </summary>
public sealed record PerplexityResult(
    int ContextSize, int TokenCount, IReadOnlyList<PerplexityChunk> Chunks, int ScoredTokens, double MeanNll, double Ppl, double PplError);

/// <summary>The text has fewer tokens than llama-perplexity needs: two whole chunks of the context's size.</summary>
public sealed class PerplexityTextTooShortException(int tokens, int contextSize)
    : Exception($"you need at least {2 * contextSize} tokens to evaluate perplexity with a context of {contextSize}, but the text tokenizes to only {tokens} tokens: use a longer text or a smaller context (-c)")
{
    public int Tokens { get; } = tokens;
    public int ContextSize { get; } = contextSize;
}
