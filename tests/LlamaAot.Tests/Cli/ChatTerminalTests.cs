using System.Diagnostics;
using System.Text.Json.Nodes;
using LlamaAot.Chat;

namespace LlamaAot.Tests.Cli;

/// <summary>
/// <c>llama-aot chat</c> as a person uses it (issue 13): in a real terminal (a tmux pane), typing messages after the
/// "> " marker, reading the streamed answers, pressing Ctrl+C during an answer and at the prompt, Ctrl+D to leave.
/// </summary>
public sealed class ChatTerminalTests
{
    private static readonly string Model = Shared.Stories260K("Q8_0");

    /// <summary>
    /// A tmux session running one command (exec'd: Ctrl+C goes to it alone); the pane stays after it ends, with how
    /// it ended.
    /// </summary>
    private sealed class Terminal : IDisposable
    {
        private readonly string _name = $"llama-aot-chat-{Environment.ProcessId}-{Guid.NewGuid():N}"[..40];

        /// <summary>The server's socket, its own file (tmux -S), removed when the terminal is disposed.</summary>
        private readonly string _socket = Path.Combine(Path.GetTempPath(), $"llama-aot-tmux-{Guid.NewGuid():N}");

        public Terminal(params string[] command)
        {
            string line = "exec " + string.Join(' ', command.Select(Quote));
            // A tmux server of its own: another terminal's server, ending with its last session, cannot take this one along.
            Tmux("new-session", "-d", "-s", _name, "-x", "200", "-y", "50", line, ";", "set-option", "-t", _name, "remain-on-exit", "on");
        }

        public void Type(string text) => Tmux("send-keys", "-t", _name, "-l", text);

        public void Press(string key) => Tmux("send-keys", "-t", _name, key);

        public string Screen() => Tmux("capture-pane", "-p", "-J", "-t", _name, "-S", "-5000");

        /// <summary>Waits until the pane shows <paramref name="count"/> lines that satisfy <paramref name="done"/>.</summary>
        public string WaitFor(Func<string, bool> done, string what)
        {
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < TimeSpan.FromSeconds(60))
            {
                string screen = Screen();
                if (done(screen))
                    return screen;
                Thread.Sleep(50);
            }
            throw new TimeoutException($"the terminal never showed {what}:\n{Screen()}");
        }

        /// <summary>Waits for the command to end: "exit N", or "signal N" when a signal ended it.</summary>
        public string WaitForEnd()
        {
            WaitFor(_ => Tmux("display-message", "-p", "-t", _name, "#{pane_dead}").Trim() == "1", "the command's end");
            // The pane is dead when its terminal closes; how the command ended is known once tmux has reaped it, on
            // SIGCHLD. tmux removes the pane's utmp record through libutempter, which puts its own SIGCHLD handler in
            // for a moment: a command that ends in that moment stays a zombie, never reaped (tmux/tmux#311; about
            // one run in two here). Another SIGCHLD makes tmux reap every child that has ended.
            string server = Tmux("display-message", "-p", "#{pid}").Trim();
            string[] how = [];
            WaitFor(_ =>
            {
                how = Tmux("display-message", "-p", "-t", _name, "#{pane_dead_status}|#{pane_dead_signal}").Trim().Split('|');
                if (how[0].Length > 0 || how[1].Length > 0)
                    return true;
                using var kill = Process.Start("kill", ["-s", "CHLD", server])!;
                kill.WaitForExit();
                return false;
            }, "how the command ended");
            return how[1].Length > 0 ? $"signal {how[1]}" : $"exit {how[0]}";
        }

        public void Dispose()
        {
            Tmux("kill-server");
            File.Delete(_socket); // kill-server leaves the socket file behind
        }

        private string Tmux(params string[] args)
        {
            var start = new ProcessStartInfo("tmux") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = Shared.Root };
            start.ArgumentList.Add("-S");
            start.ArgumentList.Add(_socket);
            foreach (string a in args)
                start.ArgumentList.Add(a);
            using var p = Process.Start(start)!;
            string output = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            return output;
        }

        private static string Quote(string s) => "'" + s.Replace("'", "'\\''") + "'";
    }

    private static int Markers(string screen) => screen.Split('\n').Count(l => l.StartsWith("> ", StringComparison.Ordinal) || l == ">");

    /// <summary>The greedy answer <c>run</c> gives to a rendered prompt: its standard output after the prompt.</summary>
    private static string RunAnswer(string rendered)
    {
        var r = LlamaAotProcess.Run("run", "-m", Model, "-p", rendered, "--no-escape", "--temp", "0", "-n", "12", "-c", "256", "-t", "1");
        Assert.Equal(0, r.ExitCode);
        Assert.StartsWith(rendered, r.Stdout);
        return r.Stdout[rendered.Length..].TrimEnd('\n');
    }

    [Fact]
    public void TwoTurnsAnswerAsRunDoesOnTheRenderedConversationAndEvaluateOnlyTheNewTokens()
    {
        using var terminal = new Terminal(LlamaAotProcess.Binary, "chat", "-m", Model, "-sys", "You tell stories.", "--temp", "0", "-n", "12", "-c", "256", "-t", "1");
        terminal.WaitFor(s => Markers(s) == 1, "the first prompt marker");
        terminal.Type("Hello there");
        terminal.Press("Enter");
        string screen = terminal.WaitFor(s => Markers(s) == 2, "the second prompt marker");
        // A message over two lines: a line ending with \ goes on.
        terminal.Type("Tell me \\");
        terminal.Press("Enter");
        terminal.Type("about a cat");
        terminal.Press("Enter");
        screen = terminal.WaitFor(s => Markers(s) == 3, "the third prompt marker");
        terminal.Type("/exit");
        terminal.Press("Enter");
        Assert.Equal("exit 0", terminal.WaitForEnd());
        screen = terminal.Screen();

        // The answers are run's on the same rendered conversation.
        using var model = LlamaModel.Load(Model);
        var chat = new ChatPrompt(model);
        var messages = new JsonArray { Message("system", "You tell stories."), Message("user", "Hello there") };
        string first = RunAnswer(chat.Render(messages));
        messages.Add(Message("assistant", first));
        messages.Add(Message("user", "Tell me \nabout a cat"));
        string second = RunAnswer(chat.Render(messages));
        Assert.Contains($"> Hello there\n{first}\n", screen);
        Assert.Contains($"{second}\n", screen[screen.IndexOf("about a cat", StringComparison.Ordinal)..]);

        // Turn two evaluated only what follows the cache: the first turn's prompt and answer were reused.
        var stats = screen.Split('\n').Where(l => l.Contains("[ Prompt: ", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, stats.Count);
        int firstPrompt = chat.Tokenize(new JsonArray { Message("system", "You tell stories."), Message("user", "Hello there") }).Length;
        Assert.Contains($"[ Prompt: {firstPrompt} new tokens (0 cached)", stats[0]);
        int secondPrompt = chat.Tokenize(messages).Length;
        int cached = int.Parse(stats[1].Split('(')[1].Split(' ')[0]);
        Assert.True(cached >= firstPrompt + 11 - 1, $"turn two reused {cached} tokens, not the first turn's {firstPrompt} and its answer: {stats[1]}");
        Assert.Contains($"[ Prompt: {secondPrompt - cached} new tokens ({cached} cached)", stats[1]);
    }

    [Fact]
    public void CtrlCStopsTheAnswerThenExitsAtThePromptAndCtrlDLeaves()
    {
        // An answer without end (end of sequence ignored, the context shifted when full) until Ctrl+C.
        using (var terminal = new Terminal(LlamaAotProcess.Binary, "chat", "-m", Model, "--temp", "0", "--ignore-eos", "--context-shift", "-c", "128", "-t", "1"))
        {
            terminal.WaitFor(s => Markers(s) == 1, "the prompt marker");
            terminal.Type("Hello");
            terminal.Press("Enter");
            Thread.Sleep(1500);
            Assert.Equal(1, Markers(terminal.Screen()));
            terminal.Press("C-c");
            string screen = terminal.WaitFor(s => Markers(s) == 2, "the prompt marker after Ctrl+C");
            // At the prompt Ctrl+C leaves, as interrupted: 130, as llama-cli.
            terminal.Press("C-c");
            Assert.Equal("exit 130", terminal.WaitForEnd());
        }
        using (var terminal = new Terminal(LlamaAotProcess.Binary, "chat", "-m", Model, "--temp", "0", "-n", "4", "-c", "128", "-t", "1"))
        {
            terminal.WaitFor(s => Markers(s) == 1, "the prompt marker");
            terminal.Press("C-d");
            Assert.Equal("exit 0", terminal.WaitForEnd());
            Assert.Contains("Exiting...", terminal.Screen());
        }
    }

    private static JsonNode Message(string role, string content) => new JsonObject { ["role"] = role, ["content"] = content };
}
