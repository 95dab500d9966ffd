/** What a wrapped AWS SDK client is told about each request before it is sent. */
export interface SentCommand {
  /** The command's class name, e.g. `QueryCommand`, `SendMessageBatchCommand`. */
  name: string;
  input: Record<string, unknown>;
}

/**
 * The same SDK client (same connection, same middleware), with `before` run ahead of every
 * request: it may throw to fail the request as the service would, or wait to hold it (a race).
 * For createTestPlatform's wrapDynamo / wrapSqs, so the adapters under test meet real failures.
 */
export function interceptSends<Client extends object>(
  client: Client,
  before: (command: SentCommand) => Promise<void> | void,
): Client {
  return new Proxy(client, {
    get(target, property, receiver) {
      if (property !== "send") return Reflect.get(target, property, receiver);
      const send = Reflect.get(target, property, receiver) as (
        command: unknown,
        ...rest: unknown[]
      ) => Promise<unknown>;
      return async (command: { constructor: { name: string }; input: Record<string, unknown> }, ...rest: unknown[]) => {
        await before({ name: command.constructor.name, input: command.input });
        return send.call(target, command, ...rest);
      };
    },
  });
}
