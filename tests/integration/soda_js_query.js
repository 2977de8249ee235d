// Runs one query with the real, unmodified soda-js from npm (tests/integration/test_soda_clients.py).
// Usage: node soda_js_query.js HOST:PORT '{"dataset": ..., "select": [...], "where": [...], "order": [...], "limit": n}'
// Prints the rows the client's 'success' event hands over as JSON, or the 'error' body and exits 1.
const soda = require("soda-js");

const [host, spec] = process.argv.slice(2);
const q = JSON.parse(spec);
let query = new soda.Consumer(host).query().withDataset(q.dataset);
if (q.select) query = query.select(...q.select);
for (const w of q.where || []) query = query.where(w);
if (q.group) query = query.group(...q.group);
for (const h of q.having || []) query = query.having(h);
if (q.order) query = query.order(...q.order);
if (q.limit !== undefined) query = query.limit(q.limit);
if (q.offset !== undefined) query = query.offset(q.offset);
if (q.q) query = query.q(q.q);
if (q.soql) query = query.soql(q.soql);
query.getRows()
  .on("success", (rows) => { process.stdout.write(JSON.stringify(rows)); })
  .on("error", (body) => { process.stdout.write(JSON.stringify(body)); process.exitCode = 1; });
