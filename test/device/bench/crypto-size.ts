/**
 * Built (never run) by `npm run bench` to size the crypto module: every
 * export of `src/crypto` is called once. Its image minus the image of
 * `crypto-size-baseline.ts` is the bytecode that crypto adds to a program.
 */
import { hmac, md5, sha1, toHex } from "../../../src/crypto"

console.log(toHex(await md5("a")))
console.log(toHex(await sha1("a")))
console.log(toHex(await hmac("md5", "k", "a")))
console.log(toHex(await hmac("sha1", "k", "a")))
console.log(toHex(await hmac("sha256", "k", "a")))
