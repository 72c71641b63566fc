using System.CommandLine;

namespace LlamaAot.Cli.Commands;

/// <summary>
/// llama.cpp's -b (logical batch: tokens handed over at once, default 2048) and -ub (physical batch: tokens in one
/// forward pass, default 512; 0 = as -b). A forward pass takes the smaller of the two, as llama.cpp's n_ubatch is
/// min(n_batch, n_ubatch): that is llama-aot's batch size.
/// </summary>
internal sealed class BatchFlags
{
    private readonly Option<int> _batch = new("--batch-size", "-b")
    {
        Description = "Logical batch: most prompt tokens handed over at once.",
        HelpName = "N",
        DefaultValueFactory = _ => 2048,
        CustomParser = OptionValues.Int(1, int.MaxValue, "an integer from 1 to 2147483647"),
    };
    private readonly Option<int> _ubatch = new("--ubatch-size", "-ub")
    {
        Description = "Physical batch: most prompt tokens in one forward pass (0 = as --batch-size).",
        HelpName = "N",
        DefaultValueFactory = _ => 512,
        CustomParser = OptionValues.Int(0, int.MaxValue, "an integer from 0 (as -b) to 2147483647"),
    };

    public IEnumerable<Option> Options => [_batch, _ubatch];

    /// <summary>Most tokens in one forward pass.</summary>
    public int Read(ParseResult p)
    {
        int batch = p.GetValue(_batch), ubatch = p.GetValue(_ubatch);
        return ubatch == 0 ? batch : Math.Min(batch, ubatch);
    }
}
