using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using LlamaAot.Gguf;

namespace LlamaAot.Cli.Commands;

/// <summary>
/// <c>llama-aot bench</c>, in the manner of llama-bench: prompt processing (ppN: N random tokens in batches from an
/// empty cache) and token generation (tgN: N tokens one at a time from an empty cache), each repeated -r times after a
/// warm-up, reported as tokens/s mean ± standard deviation in llama-bench's table, so the two tools' outputs can be
/// put side by side.
/// </summary>
internal sealed class BenchCommand
{
    private readonly Option<string[]> _models = new("--model", "-m")
    {
        Description = "GGUF model file(s); repeat -m for several.",
        HelpName = "FILE",
        Required = true,
        AllowMultipleArgumentsPerToken = false,
    };
    private readonly Option<int[]> _prompt = new("--n-prompt", "-p")
    {
        Description = "Prompt sizes to test, comma-separated; 0 skips (default: 512).",
        HelpName = "N[,N...]",
        DefaultValueFactory = _ => [512],
        CustomParser = OptionValues.IntList(0, int.MaxValue, "integers, 0 or more"),
    };
    private readonly Option<int[]> _gen = new("--n-gen", "-n")
    {
        Description = "Generation lengths to test, comma-separated; 0 skips (default: 128).",
        HelpName = "N[,N...]",
        DefaultValueFactory = _ => [128],
        CustomParser = OptionValues.IntList(0, int.MaxValue, "integers, 0 or more"),
    };
    private readonly Option<int[]> _threads = new("--threads", "-t")
    {
        Description = $"Thread counts, comma-separated (default: the number of physical cores; at most {OptionValues.MaxThreads}).",
        HelpName = "N[,N...]",
        DefaultValueFactory = _ => [Threading.CpuInfo.PhysicalCores],
        CustomParser = OptionValues.IntList(1, OptionValues.MaxThreads, $"integers from 1 to {OptionValues.MaxThreads}"),
    };
    private readonly Option<int> _repetitions = new("--repetitions", "-r")
    {
        Description = $"Repetitions of each test (default: 5; at most {MaxRepetitions}).",
        HelpName = "N",
        DefaultValueFactory = _ => 5,
        CustomParser = OptionValues.Int(1, MaxRepetitions, $"an integer from 1 to {MaxRepetitions}"),
    };
    private readonly BatchFlags _batch = new();
    private readonly Option<string> _ctk = CommonOptions.CacheType("--cache-type-k", "-ctk", "key");
    private readonly Option<string> _ctv = CommonOptions.CacheType("--cache-type-v", "-ctv", "value");
    private readonly Option<OnOff> _fa = CommonOptions.FlashAttention();
    private readonly Option<string?> _gpuLayers = CommonOptions.GpuLayers();
    private readonly Option<string> _output = new("--output", "-o")
    {
        Description = "Output format: md or json (default: md).",
        HelpName = "FORMAT",
        DefaultValueFactory = _ => "md",
        CustomParser = OptionValues.OneOf("md", "json"),
    };

    // Every sample is kept (the JSON lists them): a bound that keeps that small and a run finite.
    private const int MaxRepetitions = 10_000;

    public static Command Create()
    {
        var self = new BenchCommand();
        var command = new Command("bench", "Measure prompt processing and generation speed, llama-bench style.");
        foreach (var o in (Option[])[self._models, self._prompt, self._gen, self._threads, self._repetitions, .. self._batch.Options, self._ctk, self._ctv, self._fa, self._gpuLayers, self._output])
            command.Add(o);
        command.SetAction(self.Run);
        return command;
    }

    private sealed record Test(string Model, string ModelType, long ModelSize, long Parameters, int Threads, int NPrompt, int NGen, double[] TokensPerSecond)
    {
        public string Name => NPrompt > 0 ? $"pp{NPrompt}" : $"tg{NGen}";
        public double Mean => TokensPerSecond.Average();
        public double StdDev => TokensPerSecond.Length < 2 ? 0 : Math.Sqrt(TokensPerSecond.Sum(v => (v - Mean) * (v - Mean)) / (TokensPerSecond.Length - 1));
    }

    private int Run(ParseResult p)
    {
        int[] prompts = p.GetValue(_prompt)!, gens = p.GetValue(_gen)!, threads = p.GetValue(_threads)!;
        // Each test runs in a context of the longest prompt plus the longest generation, as llama-bench's.
        long contextSize = Math.Max(1L, (long)prompts.Max() + gens.Max());
        if (contextSize > int.MaxValue)
            throw new UsageException($"the longest -p and -n together make a context of {contextSize} tokens: at most {int.MaxValue}");
        int repetitions = p.GetValue(_repetitions);
        CommonOptions.NoteGpuLayers(p, _gpuLayers);
        bool json = p.GetValue(_output) == "json";
        var results = new List<Test>();
        if (!json)
            PrintHeader();
        foreach (string path in p.GetValue(_models)!)
        {
            using var model = ModelReport.Load(path);
            string type = ModelType(model);
            long size = model.TensorBytes;
            foreach (int t in threads)
            {
                var options = new ContextOptions
                {
                    ContextSize = (int)contextSize,
                    Threads = t,
                    BatchThreads = t,
                    BatchSize = _batch.Read(p),
                    KeyCacheType = CommonOptions.ParseCacheType(p.GetValue(_ctk)!),
                    ValueCacheType = CommonOptions.ParseCacheType(p.GetValue(_ctv)!),
                    FlashAttention = p.GetValue(_fa) == OnOff.On,
                };
                using var context = model.CreateContext(options);
                foreach (int n in prompts.Where(n => n > 0))
                    Report(new Test(path, type, size, model.ParameterCount, t, n, 0, Measure(context, repetitions, () => PromptRun(context, n))), json, results);
                foreach (int n in gens.Where(n => n > 0))
                    Report(new Test(path, type, size, model.ParameterCount, t, 0, n, Measure(context, repetitions, () => GenerationRun(context, n))), json, results);
            }
        }
        if (json)
            WriteJson(results);
        return ExitCodes.Ok;
    }

    private static double[] Measure(LlamaContext context, int repetitions, Func<double> run)
    {
        run(); // warm-up: first-touch of weights and caches, as llama-bench does
        var samples = new double[repetitions];
        for (int i = 0; i < repetitions; i++)
            samples[i] = run();
        return samples;
    }

    /// <summary>BOS then random tokens, evaluated in batches from an empty cache; returns tokens/s.</summary>
    private static double PromptRun(LlamaContext context, int n)
    {
        var random = new Random(42);
        var tokens = new int[n];
        tokens[0] = context.Model.Vocabulary.Bos ?? 0;
        for (int i = 1; i < n; i++)
            tokens[i] = random.Next(context.Model.Config.NVocab);
        context.Reset();
        var clock = Stopwatch.StartNew();
        context.Evaluate(tokens);
        return n / clock.Elapsed.TotalSeconds;
    }

    /// <summary>n random tokens evaluated one at a time from an empty cache; returns tokens/s.</summary>
    private static double GenerationRun(LlamaContext context, int n)
    {
        var random = new Random(42);
        context.Reset();
        int token = context.Model.Vocabulary.Bos ?? 0;
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < n; i++)
        {
            context.Evaluate([token]);
            token = random.Next(context.Model.Config.NVocab);
        }
        return n / clock.Elapsed.TotalSeconds;
    }

    private static void PrintHeader()
    {
        Console.WriteLine("| model                          |       size |     params | backend    | threads |          test |                  t/s |");
        Console.WriteLine("| ------------------------------ | ---------: | ---------: | ---------- | ------: | ------------: | -------------------: |");
    }

    private static void Report(Test test, bool json, List<Test> results)
    {
        results.Add(test);
        if (json)
            return;
        string ts = $"{F(test.Mean)} ± {F(test.StdDev)}";
        Console.WriteLine($"| {test.ModelType,-30} | {Size(test.ModelSize),10} | {Params(test.Parameters),10} | {"CPU",-10} | {test.Threads,7} | {test.Name,13} | {ts,20} |");
    }

    private static void WriteJson(List<Test> results)
    {
        using var stdout = StandardStreams.OpenOutput();
        using var w = new Utf8JsonWriter(stdout, new JsonWriterOptions { Indented = true });
        w.WriteStartArray();
        foreach (var t in results)
        {
            w.WriteStartObject();
            w.WriteString("build", $"llama-aot {typeof(BenchCommand).Assembly.GetName().Version}");
            w.WriteString("cpu_info", CpuName());
            w.WriteString("model_filename", t.Model);
            w.WriteString("model_type", t.ModelType);
            w.WriteNumber("model_size", t.ModelSize);
            w.WriteNumber("model_n_params", t.Parameters);
            w.WriteNumber("n_threads", t.Threads);
            w.WriteNumber("n_prompt", t.NPrompt);
            w.WriteNumber("n_gen", t.NGen);
            w.WriteNumber("avg_ts", t.Mean);
            w.WriteNumber("stddev_ts", t.StdDev);
            w.WriteStartArray("samples_ts");
            foreach (double v in t.TokensPerSecond)
                w.WriteNumberValue(v);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.Flush();
        Console.WriteLine();
    }

    /// <summary>llama.cpp's model description: architecture, size class and file type, e.g. "llama 1B Q4_0".</summary>
    private static string ModelType(LlamaModel model)
    {
        double p = model.ParameterCount;
        string size = p >= 1e9 ? $"{Math.Round(p / 1e9):0}B" : p >= 1e6 ? $"{Math.Round(p / 1e6):0}M" : $"{Math.Round(p / 1e3):0}K";
        string ftype = model.Metadata.TryGet("general.file_type", out var v) && v.TryGetInt64(out long ft)
            ? LlamaFileTypes.Name((LlamaFileType)ft)
            : "unknown";
        return $"{model.Config.Architecture} {size} {ftype}";
    }

    private static string Size(long bytes) => bytes >= 1L << 30
        ? $"{F(bytes / (double)(1L << 30))} GiB"
        : $"{F(bytes / (double)(1L << 20))} MiB";

    private static string Params(long n) => n >= 1_000_000_000 ? $"{F(n / 1e9)} B" : n >= 1_000_000 ? $"{F(n / 1e6)} M" : $"{F(n / 1e3)} K";

    private static string F(double v) => v.ToString("F2", CultureInfo.InvariantCulture);

    private static string CpuName()
    {
        try
        {
            var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            return line?.Split(':', 2)[1].Trim() ?? "unknown";
        }
        catch (IOException)
        {
            return "unknown";
        }
    }
}
