import { readSetting } from "@devicescript/settings"
import { settingProblem, writeSettingChecked } from "../config"
import { shortToken, tokenProblem } from "./response"

/** Settings key of the stored token. */
export const TOKEN_KEY = "AUTH_TOKEN"

/** What is kept in flash: the token and whom it was issued to. */
interface StoredToken {
    /** `productKey/deviceName@host`: a token is only reused for the same identity. */
    id: string
    token: string
}

/**
 * The platform token in flash settings, so that a reboot does not cost an
 * authentication. Flash is written only when the token changes.
 */
export class TokenStore {
    private current: StoredToken = null

    /** @param identity `productKey/deviceName@host` of this device */
    constructor(readonly identity: string) {}

    /** The stored token for this identity, or undefined. */
    async load(): Promise<string> {
        if (this.current) return this.current.token
        const stored: StoredToken = await readSetting(TOKEN_KEY, null)
        if (
            stored &&
            typeof stored === "object" &&
            stored.id === this.identity &&
            !tokenProblem(stored.token)
        ) {
            this.current = stored
            return stored.token
        }
        return undefined
    }

    /** Keeps `token`; writes flash only when it differs from what is stored. */
    async save(token: string) {
        if (this.current && this.current.token === token) return
        const value: StoredToken = { id: this.identity, token }
        this.current = value
        if (settingProblem(TOKEN_KEY, value)) {
            console.warn(
                `token ${shortToken(token)} too large for flash settings; kept in memory only`
            )
            return
        }
        await writeSettingChecked(TOKEN_KEY, value)
    }
}
