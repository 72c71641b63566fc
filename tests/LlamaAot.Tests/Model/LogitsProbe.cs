using Xunit.Abstractions;
using LlamaAot.Model;

namespace LlamaAot.Tests.Model;

public class LogitsProbe(ITestOutputHelper output)
{
    [Theory]
    [InlineData("F32", true)]
    [InlineData("F32", false)]
    [InlineData("F16", false)]
    [InlineData("F16", true)]
    [InlineData("BF16", false)]
    [InlineData("Q8_0", false)]
    [InlineData("Q4_0", false)]
    public void Probe(string type, bool kvF32)
    {
        using var model = LlamaModel.Load(Shared.Stories260K(type));
        foreach (var prompt in ReferenceCase.Stories260KPrompts)
        {
            var r = ReferenceCase.Load(ReferenceCase.Stories260KPath(type, prompt, kvF32));
            using var ctx = model.CreateContext(new ContextOptions { ContextSize = 128, Threads = 1, KeyCacheType = kvF32 ? KvCacheType.F32 : KvCacheType.F16, ValueCacheType = kvF32 ? KvCacheType.F32 : KvCacheType.F16 });
            Assert.Equal(r.Tokens, model.Tokenize(r.Prompt));
            var logits = ctx.EvaluateAll(r.Tokens);
            double max = 0;
            var per = new List<string>();
            for (int t = 0; t < r.Tokens.Length; t++)
            {
                double m = 0;
                for (int i = 0; i < 512; i++)
                    m = Math.Max(m, Math.Abs(logits[t * 512 + i] - r.Logits[t][i]));
                per.Add(m.ToString("G2"));
                max = Math.Max(max, m);
            }
            output.WriteLine($"{type} {prompt} kvf32={kvF32}: max |dlogit| = {max:G4} per pos {string.Join(" ", per)}");
        }
    }
}
