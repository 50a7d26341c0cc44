/**
 * Device tokens: issued by `/auth`, checked on every publish by exact
 * string. A token is valid for `ttlMs`; its form is the JWT one (default,
 * see jwt-token.ts, its `expire` the same instant the store expires it) or
 * a bare random 32-hex-digit string. Expired tokens are remembered so that
 * they answer 20001 rather than 20003. A new token does not revoke the
 * device's earlier ones.
 */
import { randomBytes } from "node:crypto"
import { buildJwtToken } from "./jwt-token.ts"

/** `jwt`: the 161-character form of Alibaba's 2017 document; `hex`: 32 hex digits. */
export type TokenForm = "jwt" | "hex"
/** The forms a token may take. */
export const TOKEN_FORMS: readonly TokenForm[] = ["jwt", "hex"]

export type TokenCheck =
    | { status: "ok"; productKey: string; deviceName: string }
    | { status: "expired"; productKey: string; deviceName: string }
    | { status: "unknown" }

interface Entry {
    productKey: string
    deviceName: string
    expiresAt: number
}

export class TokenStore {
    private tokens = new Map<string, Entry>()
    /** the key JWT-form tokens are signed with (random per store) */
    private readonly key = randomBytes(20)

    constructor(
        public ttlMs: number,
        public form: TokenForm = "jwt"
    ) {}

    /** Issues a new token for the device at `now`, valid until now + ttlMs. */
    issue(productKey: string, deviceName: string, now: number): string {
        const expiresAt = Math.floor(now + this.ttlMs)
        const id = randomBytes(16).toString("hex")
        const token =
            this.form === "jwt"
                ? buildJwtToken({ expire: expiresAt, token: id }, this.key)
                : id
        this.tokens.set(token, { productKey, deviceName, expiresAt })
        return token
    }

    /** What a token presented at `now` is worth (valid while now < expiry). */
    check(token: string, now: number): TokenCheck {
        const e = this.tokens.get(token)
        if (!e) return { status: "unknown" }
        const { productKey, deviceName } = e
        return now < e.expiresAt
            ? { status: "ok", productKey, deviceName }
            : { status: "expired", productKey, deviceName }
    }

    /** Expires every live token of the device now; returns how many. */
    expireDevice(productKey: string, deviceName: string, now: number) {
        let n = 0
        for (const e of this.tokens.values())
            if (
                e.productKey === productKey &&
                e.deviceName === deviceName &&
                e.expiresAt > now
            ) {
                e.expiresAt = now
                n++
            }
        return n
    }

    /** Forgets every token. */
    clear() {
        this.tokens.clear()
    }
}
