import { describe, test, expect } from "@devicescript/test"
import { readSetting, writeSetting } from "@devicescript/settings"
import { TOKEN_KEY, TokenStore } from "../../src/channel/token-store"

describe("TokenStore", () => {
    test("a saved token is found by a new store of the same identity (a reboot)", async () => {
        await new TokenStore("pk/dn@host").save(
            "6944e5bfb92e4d4ea3918d1eda3942f6"
        )
        expect(await new TokenStore("pk/dn@host").load()).toBe(
            "6944e5bfb92e4d4ea3918d1eda3942f6"
        )
    })
    test("a token issued to another identity is not used", async () => {
        await new TokenStore("pk/dn@host").save(
            "tokenForDn0000000000000000000000"
        )
        expect(await new TokenStore("pk/other@host").load()).toBe(undefined)
        expect(await new TokenStore("pk/dn@elsewhere").load()).toBe(undefined)
    })
    test("flash is not written when the token did not change", async () => {
        const store = new TokenStore("pk/dn@host")
        await store.save("sameToken0000000000000000000000a")
        // overwrite behind the store's back: an unchanged save must not rewrite it
        await writeSetting(TOKEN_KEY, { id: "marker", token: "x" })
        await store.save("sameToken0000000000000000000000a")
        const stored: any = await readSetting(TOKEN_KEY)
        expect(stored.id).toBe("marker")
        await store.save("newToken00000000000000000000000b")
        const again: any = await readSetting(TOKEN_KEY)
        expect(again.token).toBe("newToken00000000000000000000000b")
    })
    test("a garbled stored value is ignored", async () => {
        await writeSetting(TOKEN_KEY, { id: "pk/dn@host", token: "has space" })
        expect(await new TokenStore("pk/dn@host").load()).toBe(undefined)
        await writeSetting(TOKEN_KEY, "just a string")
        expect(await new TokenStore("pk/dn@host").load()).toBe(undefined)
    })
})
