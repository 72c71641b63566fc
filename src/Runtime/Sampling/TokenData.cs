namespace LlamaAot.Sampling;

/// <summary>One candidate token (llama.cpp's <c>llama_token_data</c>): its id, its current logit and, once a
/// softmax has run, its probability.</summary>
internal struct TokenData(int id, float logit)
{
    public int Id = id;
    public float Logit = logit;
    public float P;

    public override readonly string ToString() => $"{Id}: logit {Logit}, p {P}";
}

/// <summary>
/// The order of candidates: larger logit first, then smaller id. llama.cpp sorts by logit alone with an unstable
/// sort, so its order among equal logits is unspecified; the id breaks ties here so the order, and every result,
/// is reproducible. <see cref="float.CompareTo(float)"/> makes it total even with NaN (NaN ranks last).
/// </summary>
internal static class ByRank
{
    /// <summary>True when <paramref name="a"/> comes strictly before <paramref name="b"/>.</summary>
    public static bool Before(in TokenData a, in TokenData b)
    {
        int c = b.Logit.CompareTo(a.Logit);
        return c != 0 ? c < 0 : a.Id < b.Id;
    }
}
