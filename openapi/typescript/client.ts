// A typed client of the fairprobe API: openapi-typescript generates ./schema.d.ts from ../openapi.yaml,
// openapi-fetch turns it into calls. `tsc` checking this file is the contract test's proof that code
// generated from the spec compiles and can call every kind of operation.
import createClient from "openapi-fetch";
import type { components, paths } from "./schema";

type AuditReport = components["schemas"]["AuditReport"];
type ProbeReport = components["schemas"]["ProbeReport"];

const client = createClient<paths>({ baseUrl: "http://127.0.0.1:8000", headers: { Authorization: "Bearer key" } });

export async function audit(): Promise<AuditReport | undefined> {
  const { data, error } = await client.POST("/v1/audits", {
    body: {
      data: { records: [{ race: "a", y: 1, p: 0 }, { race: "b", y: 0, p: 1 }] },
      label: "y",
      prediction: "p",
      protected: [{ attribute: "race" }, { attribute: "age", bins: [25, 45], reference: "largest" }],
      policy: { rules: [{ metric: "disparate_impact", min: 0.8 }] },
    },
  });
  if (error) throw new Error(`${error.status}: ${error.detail} (${error.errors?.map((e) => e.field).join(", ")})`);
  return typeof data === "string" ? undefined : data; // the operation can also answer an HTML page
}

export async function upload(csv: Blob): Promise<string | undefined> {
  const { data } = await client.POST("/v1/audits/upload", {
    body: { request: JSON.stringify({ label: "y", prediction: "p", protected: [{ attribute: "race" }] }), data: "" },
    bodySerializer() {
      const form = new FormData();
      form.append("request", JSON.stringify({ label: "y", prediction: "p", protected: [{ attribute: "race" }] }));
      form.append("data", csv, "data.csv");
      return form;
    },
  });
  return typeof data === "string" ? undefined : data?.verdict;
}

export async function nameSwap(): Promise<ProbeReport["verdict"] | undefined> {
  const { data } = await client.POST("/v1/probes/name-swap", {
    body: {
      endpoint: { url: "https://models.example.com/invocations", format: "mlflow" },
      profiles: { records: [{ id: "c1", first_name: "Pat", age: 41 }] },
      name_fields: { first_name: "first_name" },
      reference: "white_male",
    },
  });
  return typeof data === "string" ? undefined : data?.verdict;
}

export async function banks(): Promise<string[]> {
  const { data } = await client.GET("/v1/name-banks/{bank_id}", { params: { path: { bank_id: "tzioumis-census-2010" } } });
  const all = await client.GET("/v1/name-banks");
  return [data?.id ?? "", ...(all.data ?? []).map((b) => b.id ?? "")];
}
