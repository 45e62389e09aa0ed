// Entry of the action bundle: main or post, by a state flag the runner hands back to post.
import { runAction } from './action.ts';

await runAction();
