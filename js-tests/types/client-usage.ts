// Typed usage of the client entry, compiled by `make typecheck` (never run):
// better-auth's client with tokenExchangeClient() gets typed methods for the
// audit query API. A browser project: DOM on. better-auth's own typings do
// not type-check on their own (see pkg-template/tsconfig.json), so this
// project skips library checks; the assertions below still fail the check
// if our typings stop giving these types.
import { createAuthClient } from "better-auth/client";
import type { TokenExchangeOptions } from "better-auth-token-exchange";
import {
  tokenExchangeClient,
  type ExchangeRecord,
  type ExchangeRecordJson,
  type ExchangeRecordPage,
  type ExchangeRecordQuery,
} from "better-auth-token-exchange/client";

// The server side: who may call the API.
const serverOptions: TokenExchangeOptions = { auditApi: { adminRoles: "admin, auditor", adminUserIds: ["user-7"] } };
// @ts-expect-error adminUserIds is a list
const wrongOptions: TokenExchangeOptions = { auditApi: { adminUserIds: "user-7" } };
void serverOptions, wrongOptions;

const authClient = createAuthClient({ baseURL: "https://auth.example", plugins: [tokenExchangeClient()] });

async function usage(): Promise<void> {
  const query: ExchangeRecordQuery = { subject: "user-1", decision: "refused", from: "2026-05-01", to: 1_780_000_000, limit: 100 };
  const { data, error } = await authClient.tokenExchange.listRecords({ query });
  if (error) {
    const status: number = error.status;
    const message: string | undefined = error.message;
    void status;
    void message;
    return;
  }
  const page: ExchangeRecordPage = data;
  const next: string | null = data.nextCursor;
  const first: ExchangeRecord | undefined = data.records[0];
  if (first) {
    // better-auth's client revives the wire's ISO strings into Dates.
    const createdAt: Date = first.createdAt;
    const expiresAt: Date | null = first.expiresAt;
    const decision: "granted" | "refused" = first.decision;
    const audiences: string[] = first.audiences;
    // @ts-expect-error dates are Date objects here, not strings
    const asString: string = first.createdAt;
    void createdAt, expiresAt, decision, audiences, asString;
  }
  // Raw HTTP answers keep the strings.
  const raw = (await (await fetch("https://auth.example/api/auth/token-exchange/list-records")).json()) as ExchangeRecordPage<ExchangeRecordJson>;
  const wireDate: string | undefined = raw.records[0]?.createdAt;
  void wireDate;
  void page;
  if (next) await authClient.tokenExchange.listRecords({ query: { cursor: next } });
  // No query at all is fine: every filter is optional.
  await authClient.tokenExchange.listRecords();
  // @ts-expect-error decision is "granted" or "refused"
  await authClient.tokenExchange.listRecords({ query: { decision: "maybe" } });
  // @ts-expect-error unknown filters are rejected by the types (and by the server, 400)
  await authClient.tokenExchange.listRecords({ query: { subjet: "typo" } });

  const one = await authClient.tokenExchange.getRecord({ query: { id: "abc" } });
  if (one.data) {
    const id: string = one.data.record.id;
    void id;
  }
  // @ts-expect-error getRecord needs the id
  await authClient.tokenExchange.getRecord({ query: {} });
}
void usage;
