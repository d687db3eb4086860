// The end of every switch over a union (messages, records, statuses): a case nobody handles fails
// to compile, and a value from a newer peer that slips past a guard fails loudly here.
export function assertNever(x: never): never {
  throw new Error(`unhandled case: ${JSON.stringify(x)}`);
}
