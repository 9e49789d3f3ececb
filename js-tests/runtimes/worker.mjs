// The Worker of the workerd suite (bundled by workerd.runtime.mjs with
// esbuild the way wrangler bundles, run by Miniflare with nodejs_compat):
//   GET /conformance  the shared conformance cases
//   GET /helpers      the BFF and resource-server helpers
//   GET /exchange     one full better-auth exchange on the D1 binding `DB`

import { runExchangeScenario } from "./exchange-scenario.mjs";
import { runHelpersScenario } from "./helpers-scenario.mjs";
import { runConformance } from "./run-conformance.mjs";

export default {
  async fetch(request, env) {
    const { pathname } = new URL(request.url);
    try {
      if (pathname === "/conformance") return Response.json(await runConformance());
      if (pathname === "/helpers") return Response.json({ ok: true, steps: await runHelpersScenario() });
      if (pathname === "/exchange") {
        // The binding itself: better-auth recognises D1 and uses its own driver.
        return Response.json({ ok: true, steps: await runExchangeScenario({ database: env.DB }) });
      }
      return new Response("not found", { status: 404 });
    } catch (error) {
      return Response.json({ ok: false, error: String(error?.stack ?? error) }, { status: 500 });
    }
  },
};
