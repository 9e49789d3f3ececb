// Typed usage of the published engine entry, compiled by `make typecheck`
// (never run) with skipLibCheck off, no DOM and no @types/node: the engine's
// published typings must stand alone. (The root entry also carries the
// better-auth plugin, whose typings pull in better-auth's: check those in a
// project with skipLibCheck on.) The @ts-expect-error lines fail the check
// if the typings stop rejecting those mistakes.
import {
  createEngine,
  Engine,
  type ActClaim,
  type ClientInput,
  type DecideCall,
  type Decision,
  type EngineSettings,
  type FormPairs,
  type KeysAnswer,
  type ReasonCode,
} from "better-auth-token-exchange/engine";

const settings: EngineSettings = { issuer: "https://auth.example", leewaySeconds: 30 };
const engine: Engine = createEngine(settings);
const same: Engine = new Engine(settings);

const keys: KeysAnswer = engine.setIssuerKeys("https://auth.example", { keys: [] });
if (keys.type === "ok") {
  const count: number = keys.keys;
  void count;
}
engine.setIssuerKeys("https://auth.example", '{"keys":[]}');
const known: boolean = engine.hasKey("https://auth.example", "kid-1") || engine.hasKey("https://auth.example");

const form: FormPairs = [
  ["grant_type", "urn:ietf:params:oauth:grant-type:token-exchange"],
  ["subject_token", "eyJ..."],
  ["subject_token_type", "urn:ietf:params:oauth:token-type:access_token"],
];
const hint = engine.inspect(form).subject;
if (hint?.format === "jwt") {
  const issuer: string | undefined = hint.issuer;
  void issuer;
}

const client: ClientInput = {
  status: "authenticated",
  clientId: "bff",
  authMethod: "client_secret_basic",
  disabled: false,
  grantTypes: ["urn:ietf:params:oauth:grant-type:token-exchange"],
  scopes: ["read"],
  linkedResources: ["https://api-a.example"],
  allowedTokenExchange: true,
  policy: { delegation: false, holderBinding: { clients: ["gateway"] } },
};
const call: DecideCall = { form, now: 1_700_000_000, client };
const decision: Decision = engine.decide(call);

// The tagged answer narrows on `type`.
if (decision.type === "success") {
  const sub: string = decision.subject;
  const act: ActClaim | undefined = decision.act;
  const exp: number = decision.expiresAt;
  void [sub, act, exp];
} else {
  const reason: ReasonCode = decision.reason;
  const status: 400 | 401 | 500 = decision.status;
  // @ts-expect-error a failure has no subject
  void decision.subject;
  void [reason, status];
}

// @ts-expect-error settings need an issuer
createEngine({});
// @ts-expect-error the form is pairs, not a record
engine.inspect({ grant_type: "x" });
// @ts-expect-error `now` is seconds as a number
engine.decide({ form, now: new Date(), client });
// @ts-expect-error an unauthenticated client carries a reason, not a policy
const badClient: ClientInput = { status: "unauthenticated", basic: true, policy: {} };

engine.free();
void [same, known, badClient];
