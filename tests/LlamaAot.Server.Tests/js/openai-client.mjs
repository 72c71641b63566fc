// The official OpenAI JavaScript library (npm openai 7.x) against llama-aot serve, as an application uses it: the
// models list, a chat completion whole and streamed (with the usage chunk), a text completion whole and streamed.
// Usage: node openai-client.mjs BASE_URL (the server's /v1). Prints what it got as one JSON line; JavaScriptClientTests
// compares it with the library's greedy generation.
import OpenAI from "openai";

const client = new OpenAI({ baseURL: process.argv[2], apiKey: "unused", timeout: 60_000, maxRetries: 0 });
const messages = [{ role: "user", content: "Tell me a story about a cat." }];
const greedy = { model: "m", max_tokens: 24, temperature: 0 };

const models = await client.models.list();
const chat = await client.chat.completions.create({ ...greedy, messages });

const chatStream = { text: "", role: null, finish: null, usage: null, chunks: 0 };
for await (const chunk of await client.chat.completions.create({ ...greedy, messages, stream: true, stream_options: { include_usage: true } })) {
  chatStream.chunks++;
  if (chunk.usage) chatStream.usage = chunk.usage;
  const choice = chunk.choices[0];
  if (!choice) continue;
  chatStream.role ??= choice.delta.role ?? null;
  chatStream.text += choice.delta.content ?? "";
  chatStream.finish ??= choice.finish_reason ?? null;
}

const completion = await client.completions.create({ ...greedy, prompt: "Once upon a time" });
let completionStream = "";
for await (const chunk of await client.completions.create({ ...greedy, prompt: "Once upon a time", stream: true }))
  completionStream += chunk.choices[0]?.text ?? "";

console.log(JSON.stringify({
  models: models.data.map(m => m.id),
  chat: { text: chat.choices[0].message.content, finish: chat.choices[0].finish_reason, usage: chat.usage },
  chatStream,
  completion: { text: completion.choices[0].text, usage: completion.usage },
  completionStream,
}));
