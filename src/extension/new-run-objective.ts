// New Training Run's objective step: the objectives of src/protocol/objectives.ts that this
// version's config accepts for the chosen engine, each with its one line on when to pick it. Asked
// from the summary (Edit "Objective"), so the default DPO flow keeps its five questions.
import { EngineName, OBJECTIVE_ORDER, OBJECTIVES, objectiveFields, resolveConfig } from '../protocol';
import { PickItem, StepAnswer, pickStep } from './quick-steps';

/** Objectives the run config takes on `engine` (SimPO, ORPO and KTO appear once the engines do). */
export function offeredObjectives(engine: EngineName): string[] {
  return OBJECTIVE_ORDER.filter((k) => {
    try {
      resolveConfig({ model: 'm', data: 'd', engine, ...objectiveFields(k) });
      return true;
    } catch {
      return false;
    }
  });
}

export async function askObjective(engine: EngineName, current: string, back: boolean): Promise<StepAnswer<string>> {
  const items: PickItem<string>[] = offeredObjectives(engine).map((k) => {
    const o = OBJECTIVES[k];
    return { label: `${k === current ? '$(check) ' : ''}${o.title}`, description: o.paper, detail: o.when, value: k };
  });
  return pickStep({ title: 'DPO: New Training Run — objective', placeHolder: 'The loss to train with (README: "Which objective when")', items, back });
}
