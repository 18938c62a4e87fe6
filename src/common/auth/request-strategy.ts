/** What passport gives the per-request copy of a strategy it runs. */
interface PassportActions {
  success(user: object): void;
  fail(): void;
  error(error: Error): void;
}

/** A credential's check: the caller it names, or nothing when the request does not carry one that holds. */
export type VerifyRequest = (
  request: unknown,
  done: (error: Error | null, user?: object | false | null) => void,
) => void;

/**
 * A passport strategy that hands the whole request to its verify function (passport-custom's shape), for a
 * credential whose extraction and check are Logbook's own. Giving nothing back declines the request, so that the
 * next strategy the guard lists may take it; an error (the database is down, say) ends the chain.
 */
export class RequestStrategy {
  constructor(private readonly verify: VerifyRequest) {}

  authenticate(this: RequestStrategy & PassportActions, request: unknown): void {
    this.verify(request, (error, user) => {
      if (error) this.error(error);
      else if (user) this.success(user);
      else this.fail();
    });
  }
}
