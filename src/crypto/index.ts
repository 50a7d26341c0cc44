import { digest } from "@devicescript/crypto"
import { Binary, hashBytecode } from "./hasher"

export { Binary, BytecodeHashAlgorithm, Hasher } from "./hasher"
export { HmacAlgorithm, hmac } from "./hmac"

/** MD5 (RFC 1321) of `data`; strings are hashed as UTF-8. */
export async function md5(data: Binary): Promise<Buffer> {
    return await hashBytecode("md5", data)
}

/** SHA-1 (FIPS 180-4) of `data`; strings are hashed as UTF-8. */
export async function sha1(data: Binary): Promise<Buffer> {
    return await hashBytecode("sha1", data)
}

/** SHA-256 of `data`, computed natively by the runtime. */
export async function sha256(data: Binary): Promise<Buffer> {
    return digest("sha256", data)
}

/** Lower-case hexadecimal of `buf`. */
export function toHex(buf: Buffer): string {
    return buf.toString("hex")
}
