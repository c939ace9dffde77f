// The demo page: every flow of issue 16 on the worker's API, no framework. Server data reaches the
// page only through textContent, except the TOTP QR code, an SVG shown through an <img> data URL
// (an SVG image cannot run scripts or touch the page).

import * as api from "./api";
import * as webauthn from "./webauthn";

// Set by the build (examples/web/build.mjs, from API); `?api=` overrides it.
declare const DEFAULT_API: string;

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const element = document.getElementById(id);
  if (!element) throw new Error(`#${id} missing from index.html`);
  return element as T;
};

function apiBase(): string {
  const asked = new URLSearchParams(location.search).get("api");
  if (asked) {
    const url = new URL(asked);
    if (url.protocol === "http:" || url.protocol === "https:") return url.href;
    status("error", `?api= must be an http(s) URL; using ${DEFAULT_API}`);
  }
  return DEFAULT_API;
}

function status(kind: "idle" | "busy" | "ok" | "error", text: string): void {
  const line = $("status");
  line.dataset.kind = kind;
  line.textContent = text;
}

/** Runs one user action: its button disabled meanwhile, any failure shown in the status area. */
async function run(button: HTMLButtonElement | null, busy: string, action: () => Promise<string | void>): Promise<void> {
  if (button) button.disabled = true;
  status("busy", busy);
  try {
    const done = await action();
    status("ok", done ?? "Done.");
  } catch (e) {
    status("error", `${busy.replace(/…$/, "")} failed: ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    if (button) button.disabled = false;
  }
}

const form = (element: HTMLFormElement): Record<string, string> =>
  Object.fromEntries([...new FormData(element)].map(([k, v]) => [k, String(v).trim()]));
const submitter = (event: SubmitEvent): HTMLButtonElement | null => (event.submitter as HTMLButtonElement | null) ?? null;

type View = "signed-out" | "mfa" | "signed-in";
function show(view: View): void {
  for (const id of ["signed-out", "mfa", "signed-in"] as const) $(id).hidden = id !== view;
}

// ---- signed out -------------------------------------------------------------------------------

let mfaToken: string | null = null;

async function enter(user: api.User): Promise<string> {
  mfaToken = null;
  for (const id of ["totp-enrol", "recovery"]) $(id).hidden = true;
  $("totp-state").textContent = "";
  $("passkey-state").textContent = "";
  showUser(user);
  show("signed-in");
  await loadSessions();
  return `Signed in as ${user.email}.`;
}

function showUser(user: api.User): void {
  $("profile-name").textContent = user.display_name || user.full_name || user.email;
  $("profile-email").textContent = user.email;
}

$("register-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const fields = form(event.target as HTMLFormElement);
  void run(submitter(event), "Registering…", async () => {
    await api.register({ email: fields.email, password: fields.password, first_name: fields.first_name, last_name: fields.last_name });
    return enter(await api.me());
  });
});

$("login-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const fields = form(event.target as HTMLFormElement);
  void run(submitter(event), "Logging in…", async () => {
    const answer = await api.login(fields.email, fields.password);
    if ("user" in answer) return enter(answer.user);
    const { mfa_token, methods } = answer.mfa;
    mfaToken = mfa_token;
    $("mfa-methods").textContent = methods.join(", ");
    $("mfa-code-form").hidden = !methods.includes("totp");
    $("mfa-recovery-form").hidden = !methods.includes("recovery_code");
    $("mfa-passkey").hidden = !methods.includes("webauthn");
    show("mfa");
    return "Second factor required.";
  });
});

$("passkey-login").addEventListener("click", (event) => {
  void run(event.currentTarget as HTMLButtonElement, "Waiting for your passkey…", async () => {
    const options = await api.passkeyLoginOptions();
    return enter(await api.passkeyLogin(await webauthn.get(options)));
  });
});

// ---- second factor ----------------------------------------------------------------------------

/** One answer to the second-factor challenge; an expired or used mfa_token sends the user back to log in. */
async function secondFactor(answer: () => Promise<Parameters<typeof api.loginMfa>[1]>): Promise<string> {
  if (!mfaToken) throw new Error("Log in with your password first.");
  try {
    return await enter(await api.loginMfa(mfaToken, await answer()));
  } catch (e) {
    if (e instanceof api.ApiError && e.code === "mfa_token_invalid") {
      mfaToken = null;
      show("signed-out");
    }
    throw e;
  }
}

$("mfa-code-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const { code } = form(event.target as HTMLFormElement);
  void run(submitter(event), "Checking the code…", () => secondFactor(async () => ({ code })));
});

$("mfa-recovery-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const { recovery_code } = form(event.target as HTMLFormElement);
  void run(submitter(event), "Checking the recovery code…", () => secondFactor(async () => ({ recovery_code })));
});

$("mfa-passkey").addEventListener("click", (event) => {
  void run(event.currentTarget as HTMLButtonElement, "Waiting for your passkey…", () =>
    secondFactor(async () => ({ credential: await webauthn.get(await api.passkeyLoginOptions(mfaToken ?? undefined)) })),
  );
});

$("mfa-cancel").addEventListener("click", () => {
  mfaToken = null;
  show("signed-out");
  status("idle", "Ready.");
});

// ---- signed in --------------------------------------------------------------------------------

async function loadSessions(): Promise<void> {
  const list = $("sessions-list");
  const items = (await api.sessions()).map((session) => {
    const item = document.createElement("li");
    item.dataset.testid = "session-item";
    item.classList.toggle("current", session.current);
    const used = session.last_used_at ?? session.created_at;
    item.textContent = `${session.user_agent ?? "unknown client"} — last used ${new Date(used).toLocaleString()}${session.current ? " (this one)" : ""}`;
    return item;
  });
  list.replaceChildren(...items);
}

$("profile-refresh").addEventListener("click", (event) => {
  void run(event.currentTarget as HTMLButtonElement, "Loading the profile…", async () => {
    showUser(await api.me());
    return "Profile loaded.";
  });
});

$("sessions-refresh").addEventListener("click", (event) => {
  void run(event.currentTarget as HTMLButtonElement, "Loading the sessions…", async () => {
    await loadSessions();
    return "Sessions loaded.";
  });
});

$("totp-setup").addEventListener("click", (event) => {
  void run(event.currentTarget as HTMLButtonElement, "Starting TOTP set-up…", async () => {
    const setup = await api.totpSetup();
    $<HTMLImageElement>("totp-qr").src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(setup.qr_svg)}`;
    $("totp-secret").textContent = setup.secret;
    $("recovery").hidden = true;
    $("totp-enrol").hidden = false;
    return "Scan the code, then enter the code your app shows.";
  });
});

$("totp-confirm-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const target = event.target as HTMLFormElement;
  const { code } = form(target);
  void run(submitter(event), "Turning TOTP on…", async () => {
    const { recovery_codes } = await api.totpConfirm(code);
    target.reset();
    $("totp-enrol").hidden = true;
    $("totp-secret").textContent = "";
    $<HTMLImageElement>("totp-qr").removeAttribute("src");
    $("recovery-codes").replaceChildren(
      ...recovery_codes.map((value) => {
        const item = document.createElement("li");
        item.dataset.testid = "recovery-code";
        item.textContent = value;
        return item;
      }),
    );
    $("recovery").hidden = false;
    $("totp-state").textContent = "TOTP is on.";
    await loadSessions(); // every other session just ended
    return "TOTP is on. Save your recovery codes now.";
  });
});

$("passkey-register").addEventListener("click", (event) => {
  void run(event.currentTarget as HTMLButtonElement, "Waiting for your authenticator…", async () => {
    if (!webauthn.supported()) throw new Error("This browser has no WebAuthn.");
    const options = await api.passkeyRegisterOptions();
    const name = $<HTMLInputElement>("passkey-name").value.trim() || "Passkey";
    const passkey = await api.passkeyRegister(await webauthn.create(options), name);
    $("passkey-state").textContent = `Passkey “${passkey.name}” added.`;
    await loadSessions(); // every other session just ended
    return `Passkey “${passkey.name}” added.`;
  });
});

$("logout").addEventListener("click", (event) => {
  void run(event.currentTarget as HTMLButtonElement, "Logging out…", async () => {
    try {
      await api.logout();
    } finally {
      $("sessions-list").replaceChildren();
      $("recovery-codes").replaceChildren();
      for (const field of document.querySelectorAll("form")) field.reset();
      show("signed-out");
    }
    return "Logged out.";
  });
});

// ---- start ------------------------------------------------------------------------------------

const base = apiBase();
api.setBase(base);
$("api-base").textContent = base;
show("signed-out");
