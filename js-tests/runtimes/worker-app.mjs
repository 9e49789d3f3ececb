// A minimal production-shaped Worker (the README's recipe): better-auth with
// jwt, oauth-provider and token exchange on the D1 binding `DB`. The workerd
// suite bundles it only to report the size a real Worker carries.

import { oauthProvider } from "@better-auth/oauth-provider";
import { betterAuth } from "better-auth";
import { jwt } from "better-auth/plugins";
import { tokenExchange } from "better-auth-token-exchange";

let auth; // one instance per isolate: the bindings arrive with the first request

export default {
  async fetch(request, env) {
    auth ??= betterAuth({
      baseURL: env.BETTER_AUTH_URL,
      secret: env.BETTER_AUTH_SECRET,
      database: env.DB, // the D1 binding itself
      plugins: [jwt(), oauthProvider({ loginPage: "/login", consentPage: "/consent" }), tokenExchange()],
    });
    return auth.handler(request);
  },
};
