/**
 * What one plugin instance keeps (its options, audit trail, engines and
 * delegations) and the three ways every path writes a record: a refusal, a
 * grant before issuance, and the amendment of a grant whose issuance failed.
 * @internal
 */

import type { OAuthProviderExtension } from "@better-auth/oauth-provider";
import type { AuditRecord } from "../../engine/answers.js";
import type { EngineBase } from "../../engine/core.js";
import type { EngineSettings, OAuthErrorCode } from "../../engine/types.js";
import type { ReasonCode } from "../../shared/reasons.js";
import { describe } from "../../shared/http.js";
import { AuditTrail, toRecord } from "../audit/trail.js";
import { NOT_RECORDED, oauthError } from "../errors.js";
import { type Ctx, publicContext } from "../provider.js";
import { Delegations } from "../revocation/delegation.js";
import { newRecordId } from "../store.js";
import type { ExchangeRecord, TokenExchangeOptions } from "../types.js";
import { Engines } from "./engines.js";

/** A refusal as answered. */
export interface RefusalAnswer {
  error: OAuthErrorCode;
  status: number;
  description: string;
  challenge?: boolean;
}

export class Exchange {
  readonly options: TokenExchangeOptions;
  readonly audit: AuditTrail;
  readonly engines: Engines;
  readonly delegations = new Delegations();
  /** Per refresh request (its context): the grant family a replay would end (refresh/hooks.ts). */
  readonly families = new WeakMap<object, string[]>();
  /** The extension registered with the provider (set by the plugin's wiring). */
  extension: OAuthProviderExtension | undefined;

  constructor(options: TokenExchangeOptions, createEngine: (settings: EngineSettings) => EngineBase) {
    this.options = options;
    this.audit = new AuditTrail(options.audit);
    this.engines = new Engines(options, createEngine);
  }

  /** Writes one record; TX-61: when it cannot be written, nothing is issued (500). */
  async record(ctx: Ctx, record: ExchangeRecord): Promise<void> {
    try {
      await this.audit.write(record, ctx.context.adapter, publicContext(ctx));
    } catch (error) {
      ctx.context.logger.error(`[token-exchange] the audit record could not be written: ${describe(error)}`);
      throw oauthError(500, "server_error", NOT_RECORDED);
    }
  }

  /** Writes a refusal's record (of `grantType`, when not token exchange), then answers it. */
  async refuse(ctx: Ctx, audit: AuditRecord, answer: RefusalAnswer, grantType?: string): Promise<never> {
    await this.record(ctx, toRecord(newRecordId(), audit, grantType ? { grantType } : {}));
    throw oauthError(answer.status, answer.error, answer.description, answer.challenge);
  }

  /** One attempt, one record: a granted record becomes the refusal. */
  async amend(ctx: Ctx, record: ExchangeRecord, error: string, reason: ReasonCode): Promise<void> {
    const amended: ExchangeRecord = {
      ...record,
      decision: "refused",
      error,
      reason,
      grantedScope: null,
      act: null,
      expiresAt: null,
    };
    try {
      await this.audit.amend(amended, ctx.context.adapter, publicContext(ctx));
    } catch (amendError) {
      ctx.context.logger.error(`[token-exchange] the audit record could not be amended: ${describe(amendError)}`);
    }
  }
}
