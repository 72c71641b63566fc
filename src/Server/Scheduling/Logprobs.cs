using System.Text;
using LlamaAot.Tokenizers;

namespace LlamaAot.Server.Scheduling;

/// <summary>
/// Log-probabilities of a sampled token and of the most likely tokens, from the softmax of the model's logits row
/// before any sampling step (as llama-server reports them with <c>post_sampling_probs</c> off).
/// </summary>
internal static class Logprobs
{
    public static TokenLogprob Of(Tokenizer tokenizer, ReadOnlySpan<float> logits, int id, int top)
    {
        float max = float.NegativeInfinity;
        foreach (float l in logits)
            max = Math.Max(max, l);
        double sum = 0;
        foreach (float l in logits)
            sum += Math.Exp(l - max);
        float shift = max + (float)Math.Log(sum); // log p(t) = logits[t] - shift

        var best = new List<int>(top + 1);
        if (top > 0)
        {
            // A partial insertion sort: few alternatives are asked for (OpenAI allows up to 20).
            for (int t = 0; t < logits.Length; t++)
            {
                if (best.Count == top && logits[t] <= logits[best[^1]])
                    continue;
                int at = best.Count;
                while (at > 0 && logits[best[at - 1]] < logits[t])
                    at--;
                best.Insert(at, t);
                if (best.Count > top)
                    best.RemoveAt(top);
            }
        }
        var alternatives = new (string, byte[], float)[best.Count];
        for (int i = 0; i < best.Count; i++)
        {
            var (s, b) = Piece(tokenizer, best[i]);
            alternatives[i] = (s, b, logits[best[i]] - shift);
        }
        var (text, bytes) = Piece(tokenizer, id);
        return new TokenLogprob(text, bytes, logits[id] - shift, alternatives);
    }

    private static (string Text, byte[] Bytes) Piece(Tokenizer tokenizer, int id)
    {
        byte[] bytes = tokenizer.TokenToPiece(id, special: false);
        return (Encoding.UTF8.GetString(bytes), bytes);
    }
}
