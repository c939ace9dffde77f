// What the browser tests share: Debian's Chromium through playwright-core, and Chrome's virtual
// WebAuthn authenticator.
import { chromium } from "playwright-core";

/** The system browser (playwright-core never downloads one): CHROMIUM, default /usr/bin/chromium. */
export const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";

export const launchChromium = () =>
  chromium.launch({
    executablePath: CHROMIUM,
    headless: process.env.BROWSER_HEADED !== "1",
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });

/**
 * Chrome's virtual authenticator on this page, over CDP: a platform authenticator with resident
 * keys and user verification that answers every ceremony at once. Returns { cdp, authenticatorId }.
 */
export async function addAuthenticator(page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: { protocol: "ctap2", transport: "internal", hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
  return { cdp, authenticatorId };
}
