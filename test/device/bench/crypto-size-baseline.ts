/** The baseline for `crypto-size.ts`: the same program without crypto. */
console.log("a")
console.log("a")
console.log("a")
console.log("a")
console.log("a")
