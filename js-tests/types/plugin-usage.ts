// Typed usage of the server plugin as better-auth infers it, compiled by
// `make typecheck` (never run): `auth.api` lists the audit endpoints with
// their query and answer types, `auth.$ERROR_CODES` the plugin's codes, and
// `auth.$Infer` the record type, without a cast. A project without DOM and
// without @types/node (tsconfig.plugin.json; skipLibCheck on, as
// better-auth's own typings need). The @ts-expect-error lines fail the
// check if the typings stop rejecting those mistakes.
import { oauthProvider } from "@better-auth/oauth-provider";
import { betterAuth } from "better-auth";
import { jwt } from "better-auth/plugins";
import {
  type ExchangeRecord,
  type ExchangeRecordAnswer,
  type ExchangeRecordPage,
  tokenExchange,
} from "better-auth-token-exchange";

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const exactly = <A, B>(_proof: Equal<A, B>) => undefined;

const auth = betterAuth({
  plugins: [jwt(), oauthProvider({ loginPage: "/sign-in", consentPage: "/consent" }), tokenExchange()],
});

type ListInput = Parameters<typeof auth.api.listTokenExchangeRecords>[0];
declare const headers: NonNullable<ListInput>["headers"];

export async function usage(): Promise<void> {
  const page = await auth.api.listTokenExchangeRecords({ headers, query: { decision: "refused", limit: 10 } });
  exactly<typeof page, ExchangeRecordPage>(true);
  const first: ExchangeRecord | undefined = page.records[0];
  exactly<typeof first, ExchangeRecord | undefined>(true);
  await auth.api.listTokenExchangeRecords({ headers, query: { from: "2026-05-01", cursor: page.nextCursor ?? "" } });
  // @ts-expect-error: not a query parameter of list-records
  await auth.api.listTokenExchangeRecords({ headers, query: { bogus: 1 } });
  // @ts-expect-error: decision is "granted" or "refused"
  await auth.api.listTokenExchangeRecords({ headers, query: { decision: "maybe" } });

  const one = await auth.api.getTokenExchangeRecord({ headers, query: { id: "a-record-id" } });
  exactly<typeof one, ExchangeRecordAnswer>(true);
  // @ts-expect-error: get-record needs an id
  await auth.api.getTokenExchangeRecord({ headers, query: {} });

  exactly<typeof auth.$ERROR_CODES.TOKEN_EXPIRED.code, "TOKEN_EXPIRED">(true);
  exactly<typeof auth.$ERROR_CODES.NOT_AUDIT_ADMIN.code, "NOT_AUDIT_ADMIN">(true);
  exactly<typeof auth.$Infer.ExchangeRecord, ExchangeRecord>(true);
}
