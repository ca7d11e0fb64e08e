import http from "node:http";
import { Agent } from "undici";

const server = http.createServer((req, res) => {
  let b = "";
  req.on("data", (c) => (b += c));
  req.on("end", () => {
    res.end("got:" + b);
  });
});
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const agent = new Agent();
for (const method of ["GET", "DELETE"]) {
  try {
    const r = await agent.request({
      origin: `http://127.0.0.1:${server.address().port}`,
      path: "/",
      method,
      body: '{"a":1}',
      headers: { "content-type": "application/json" },
    });
    console.log(method, r.statusCode, await r.body.text());
  } catch (e) {
    console.log(method, "ERR", e.code, e.message);
  }
}
server.close();
await agent.close();
