// The README's client ("Using it from a frontend"), with the second-factor calls of issue 16.
//
// Tokens live in this module's memory only: a reload signs the user out, and nothing a script
// injected later can read survives the tab. sessionStorage would keep a reload signed in, but any
// XSS on this origin could read the refresh token from it, and a demo has no reason to take that
// risk. (A real frontend keeps the refresh token in an HttpOnly cookie of its own backend or in memory.)

export type Json = Record<string, unknown>;
export type Pair = { access_token: string; refresh_token: string; token_type: "bearer"; expires_in: number };
export type User = { id: number; email: string; full_name: string; display_name: string; [key: string]: unknown };
export type SignedIn = Pair & { user: User };
export type MfaRequired = { detail: string; code: "mfa_required"; mfa_token: string; methods: string[] };
export type Session = { id: string; created_at: string; last_used_at: string | null; user_agent: string | null; current: boolean };

/** An answer the contract calls a failure: its status and DRF body, shown by the status area. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: Json,
  ) {
    super(describe(status, body));
  }
  get code(): string | undefined {
    return typeof this.body.code === "string" ? this.body.code : undefined;
  }
}

/** DRF's error bodies as one line: `detail`, or every `field: message`. */
function describe(status: number, body: Json): string {
  if (typeof body.detail === "string") return `${status}: ${body.detail}`;
  const fields = Object.entries(body).map(([field, messages]) => `${field}: ${Array.isArray(messages) ? messages.join(" ") : String(messages)}`);
  return `${status}: ${fields.join("; ") || "no details"}`;
}

let base = "";
let pair: Pair | null = null;
let refreshing: Promise<boolean> | null = null;

/** The API prefix, ending in "/", e.g. http://127.0.0.1:8787/api/v1/auth/. */
export function setBase(url: string): void {
  base = url.endsWith("/") ? url : `${url}/`;
}
export const signedIn = (): boolean => pair !== null;

async function call(path: string, init: RequestInit & { json?: unknown; access?: string } = {}): Promise<Response> {
  const headers: Record<string, string> = {};
  if (init.json !== undefined) headers["Content-Type"] = "application/json";
  if (init.access) headers.Authorization = `Bearer ${init.access}`;
  return fetch(`${base}${path}`, {
    method: init.method ?? (init.json === undefined ? "GET" : "POST"),
    headers,
    body: init.json === undefined ? undefined : JSON.stringify(init.json),
    // The device cookie of the login back-off (README, Throttling); no request is authenticated by it.
    credentials: path === "login/" ? "include" : "same-origin",
  });
}

async function read<T>(res: Response): Promise<T> {
  const text = await res.text();
  let body: unknown = {};
  try {
    body = text ? JSON.parse(text) : {};
  } catch {
    body = { detail: `not JSON: ${text.slice(0, 80)}` };
  }
  if (!res.ok) throw new ApiError(res.status, (body ?? {}) as Json);
  return body as T;
}

function keep(answer: SignedIn): User {
  const { user, ...tokens } = answer;
  pair = tokens;
  return user;
}

function refresh(): Promise<boolean> {
  refreshing ??= (async () => {
    const res = pair && (await call("token/refresh/", { json: { refresh_token: pair.refresh_token } }));
    pair = res?.ok ? await res.json() : null; // a 401 here means: log in again
    return pair !== null;
  })().finally(() => (refreshing = null));
  return refreshing;
}

/** An authenticated call: on 401, refresh once and retry once. */
async function authed<T>(path: string, init: { method?: string; json?: unknown } = {}): Promise<T> {
  const send = () => call(path, { ...init, access: pair?.access_token });
  let res = await send();
  if (res.status === 401 && (await refresh())) res = await send();
  return read<T>(res);
}

export async function register(form: { email: string; password: string; first_name: string; last_name: string }): Promise<User> {
  // The demo asks for the password once; a real form asks twice and sends what the user typed.
  return keep(await read<SignedIn>(await call("register/", { json: { ...form, password_confirm: form.password } })));
}

/** The user, or the second-factor challenge (401 `mfa_required`) the caller must answer. */
export async function login(email: string, password: string): Promise<{ user: User } | { mfa: MfaRequired }> {
  const res = await call("login/", { json: { email, password } });
  if (res.status === 401) {
    const body = (await res.clone().json().catch(() => ({}))) as Json;
    if (body.code === "mfa_required" && typeof body.mfa_token === "string") return { mfa: body as MfaRequired };
  }
  return { user: keep(await read<SignedIn>(res)) };
}

/** `login/mfa/` with one of `code`, `recovery_code` or `credential` (an assertion's JSON). */
export async function loginMfa(mfaToken: string, answer: { code: string } | { recovery_code: string } | { credential: Json }): Promise<User> {
  return keep(await read<SignedIn>(await call("login/mfa/", { json: { mfa_token: mfaToken, ...answer } })));
}

/** Request options for a usernameless login, or (with an mfa_token) for the second factor. */
export async function passkeyLoginOptions(mfaToken?: string): Promise<Json> {
  return read<Json>(await call("passkeys/login/options/", { json: mfaToken ? { mfa_token: mfaToken } : {} }));
}

export async function passkeyLogin(credential: Json): Promise<User> {
  return keep(await read<SignedIn>(await call("passkeys/login/verify/", { json: credential })));
}

export const me = (): Promise<User> => authed<User>("me/");
export const sessions = (): Promise<Session[]> => authed<Session[]>("sessions/");
export const totpSetup = (): Promise<{ secret: string; otpauth_url: string; qr_svg: string }> => authed("mfa/totp/setup/", { method: "POST" });
export const totpConfirm = (code: string): Promise<{ recovery_codes: string[]; methods: string[] }> => authed("mfa/totp/confirm/", { json: { code } });
export const passkeyRegisterOptions = (): Promise<Json> => authed<Json>("passkeys/register/options/", { method: "POST" });
export const passkeyRegister = (credential: Json, name: string): Promise<{ id: string; name: string; created_at: string }> =>
  authed("passkeys/register/verify/", { json: { credential, name } });

export async function logout(): Promise<void> {
  try {
    if (pair) await authed<Json>("logout/", { json: { refresh_token: pair.refresh_token } });
  } finally {
    pair = null; // signed out here whatever the server said
  }
}
