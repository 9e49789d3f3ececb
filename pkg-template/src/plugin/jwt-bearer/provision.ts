/**
 * The local user of an ID-JAG's subject: the account linked to the trusted
 * issuer's subject (TX-24), or, when the issuer allows just-in-time
 * provisioning, a user created from the assertion's `email` and linked to
 * it. An email that already belongs to a user is never linked silently (an
 * IdP asserting someone's address must not take over their account).
 * @internal
 */

import { isApiError } from "../errors.js";
import type { Ctx, ProviderUser } from "../provider.js";

export interface Provision {
  email: string;
  emailVerified?: boolean;
  name?: string;
}

/**
 * Creates the user of a provisioned subject and links it, through
 * better-auth's user creation (its database hooks and `validateUserInfo`
 * gate see the ID-JAG as the source). Run inside the redemption's
 * transaction, so a refused or failed provisioning leaves no user behind.
 * `null` when the email is taken or the application refuses the user.
 */
export async function provisionUser(
  ctx: Ctx,
  link: { providerId: string; accountId: string },
  provision: Provision,
): Promise<ProviderUser | null> {
  const internal = ctx.context.internalAdapter;
  if (await internal.findUserByEmail(provision.email)) return null;
  let user: Awaited<ReturnType<typeof internal.createUser>> | null;
  try {
    user = await internal.createUser(
      { email: provision.email, name: provision.name ?? provision.email, emailVerified: provision.emailVerified === true },
      { method: "id-jag" },
    );
  } catch (error) {
    // `validateUserInfo` refusing is an answer about this user, not a failure.
    if (isApiError(error) && error.statusCode === 403) return null;
    throw error;
  }
  // A `user.create.before` hook may veto the creation.
  if (!user) return null;
  await internal.createAccount({ userId: user.id, providerId: link.providerId, accountId: link.accountId });
  return user as ProviderUser;
}
