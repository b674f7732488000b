// Renders /openapi.json: each operation, its parameters, its request and response schemas,
// and a form to try it. Everything from the document goes in as text, never as HTML.
"use strict";

const EXAMPLE = {
  subject: "u-query-east1",
  resource: { id: "report-1001", kind: "credit_report", level: "ordinary", org: "east-1", customer_id: "c-1001" },
  purpose: "loan_review",
  consent: { customer_id: "c-1001", purposes: ["loan_review"], signed_at: "2026-11-01T09:00:00+08:00" },
  at: "2026-11-27T10:00:00+08:00",
};

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v; else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

function resolve(doc, schema) {
  let s = schema || {};
  for (let i = 0; s.$ref && i < 16; i++) s = doc.components.schemas[s.$ref.split("/").pop()] || {};
  return s;
}

function typeName(doc, schema) {
  const s = schema || {};
  if (s.$ref) return s.$ref.split("/").pop();
  for (const key of ["anyOf", "oneOf"]) {
    if (s[key]) return s[key].map((x) => typeName(doc, x)).join(" | ");
  }
  if (s.type === "array") return typeName(doc, s.items) + "[]";
  if (s.type === "object" && s.additionalProperties) return "{string: " + typeName(doc, s.additionalProperties) + "}";
  if (s.enum) return s.enum.map((x) => JSON.stringify(x)).join(" | ");
  if (s.const !== undefined) return JSON.stringify(s.const);
  return (s.type || "any") + (s.format ? " (" + s.format + ")" : "");
}

function schemaTable(doc, schema, seen) {
  const s = resolve(doc, schema);
  const name = schema && schema.$ref ? schema.$ref.split("/").pop() : "";
  const box = el("div", {});
  if (name) box.append(el("h4", {}, name));
  if (s.description) box.append(el("p", {}, s.description));
  if (!s.properties) { box.append(el("p", {}, typeName(doc, s))); return box; }
  const required = new Set(s.required || []);
  const table = el("table", {}, el("tr", {}, el("th", {}, "field"), el("th", {}, "type"), el("th", {}, "required"), el("th", {}, "description")));
  const nested = [];
  for (const [field, sub] of Object.entries(s.properties)) {
    table.append(el("tr", {}, el("td", { class: "name" }, field), el("td", {}, typeName(doc, sub)),
      el("td", {}, required.has(field) ? "yes" : ""), el("td", {}, sub.description || "")));
    JSON.stringify(sub).replace(/"#\/components\/schemas\/([A-Za-z0-9_]+)"/g, (_, ref) => { nested.push(ref); return ""; });
  }
  box.append(table);
  for (const ref of nested) {
    if (!seen.has(ref)) { seen.add(ref); box.append(schemaTable(doc, { $ref: "#/components/schemas/" + ref }, seen)); }
  }
  return box;
}

function tryIt(path, method, op) {
  const box = el("div", {}, el("h4", {}, "Try it / 试一试"));
  const params = (op.parameters || []).filter((p) => p.in !== "header");
  const inputs = {};
  for (const p of params) {
    const input = el("input", { size: 40, placeholder: p.description || "" });
    inputs[p.name] = { input, where: p.in, repeated: p.schema && p.schema.type === "array" };
    box.append(el("div", {}, el("label", {}, p.name + (p.required ? " *" : "") + " ", input)));
  }
  let body = null;
  if (op.requestBody) {
    body = el("textarea", {});
    body.value = JSON.stringify(path.endsWith("/batch") ? { requests: [EXAMPLE] } : EXAMPLE, null, 2);
    box.append(body);
  }
  const out = el("pre", {});
  const send = el("button", { type: "button" }, "Send / 发送");
  send.addEventListener("click", async () => {
    let url = path;
    const query = new URLSearchParams();
    for (const [name, { input, where, repeated }] of Object.entries(inputs)) {
      const value = input.value.trim();
      if (!value) continue;
      if (where === "path") url = url.replace("{" + name + "}", encodeURIComponent(value));
      else if (repeated) value.split(",").forEach((v) => query.append(name, v.trim()));
      else query.append(name, value);
    }
    if ([...query].length) url += "?" + query.toString();
    const headers = { "Content-Type": "application/json" };
    const token = document.getElementById("token").value.trim();
    if (token) headers.Authorization = "Bearer " + token;
    try {
      const response = await fetch(url, { method: method.toUpperCase(), headers, body: body ? body.value : undefined });
      const text = await response.text();
      let shown = text;
      try { shown = JSON.stringify(JSON.parse(text), null, 2); } catch (e) { /* not JSON: shown as it is */ }
      out.textContent = response.status + " " + response.statusText + "\n\n" + shown;
    } catch (e) {
      out.textContent = String(e);
    }
  });
  box.append(send, out);
  return box;
}

async function main() {
  const doc = await (await fetch("/openapi.json")).json();
  document.getElementById("title").textContent = doc.info.title;
  document.getElementById("description").textContent = doc.info.description || "";
  document.getElementById("version").textContent = "version " + doc.info.version + " · OpenAPI " + doc.openapi;
  const main = document.getElementById("operations");
  main.replaceChildren();
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const head = el("summary", {}, el("span", { class: "method " + method }, method.toUpperCase()), path,
        el("span", { class: "tag" }, (op.summary || "") + (op["x-scope"] ? " · scope: " + op["x-scope"] : "")));
      const body = el("div", {});
      if (op.parameters && op.parameters.length) {
        const table = el("table", {}, el("tr", {}, el("th", {}, "parameter"), el("th", {}, "in"), el("th", {}, "type"), el("th", {}, "description")));
        for (const p of op.parameters) {
          table.append(el("tr", {}, el("td", { class: "name" }, p.name + (p.required ? " *" : "")), el("td", {}, p.in),
            el("td", {}, typeName(doc, p.schema)), el("td", {}, p.description || "")));
        }
        body.append(el("h4", {}, "Parameters / 参数"), table);
      }
      if (op.requestBody) {
        const schema = Object.values(op.requestBody.content)[0].schema;
        body.append(el("h3", {}, "Request body / 请求体"), schemaTable(doc, schema, new Set()));
      }
      body.append(el("h3", {}, "Responses / 响应"));
      for (const [status, response] of Object.entries(op.responses)) {
        body.append(el("p", {}, el("strong", {}, status), " " + (response.description || "")));
        const content = response.content && Object.values(response.content)[0];
        if (content && status.startsWith("2")) body.append(schemaTable(doc, content.schema, new Set()));
      }
      body.append(tryIt(path, method, op));
      main.append(el("details", { class: "op" }, head, body));
    }
  }
}

main().catch((e) => { document.getElementById("operations").textContent = "Cannot render /openapi.json: " + e; });
