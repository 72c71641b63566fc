using System.Numerics;

namespace LlamaAot.Sampling;

/// <summary>
/// The sampler's random number generator: xoshiro256** 1.0 (Blackman and Vigna), with its 256-bit state filled by
/// splitmix64 from a 32-bit seed, as the authors recommend. Written out here rather than taken from
/// <see cref="System.Random"/> so that a seed gives the same tokens on every .NET version and platform.
/// </summary>
/// <remarks>
/// llama.cpp draws from <c>std::mt19937</c> through <c>std::discrete_distribution</c>, whose output is
/// implementation-defined, so its sampled tokens cannot be reproduced bit for bit anyway; what is kept is the
/// contract: a fixed seed gives a fixed sequence.
/// </remarks>
internal struct Xoshiro256StarStar
{
    private ulong _s0, _s1, _s2, _s3;

    /// <summary>Seeds the state with four consecutive splitmix64 outputs, starting from <paramref name="seed"/>.</summary>
    public Xoshiro256StarStar(uint seed)
    {
        ulong sm = seed;
        _s0 = SplitMix64(ref sm);
        _s1 = SplitMix64(ref sm);
        _s2 = SplitMix64(ref sm);
        _s3 = SplitMix64(ref sm);
    }

    /// <summary>The next 64 random bits (xoshiro256** <c>next()</c>).</summary>
    public ulong NextUInt64()
    {
        ulong result = BitOperations.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = BitOperations.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>A uniform double in [0, 1): the top 53 bits of <see cref="NextUInt64"/> times 2^-53.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>splitmix64 (Vigna): advances <paramref name="state"/> by the golden-ratio increment and mixes it.</summary>
    internal static ulong SplitMix64(ref ulong state)
    {
        ulong z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
