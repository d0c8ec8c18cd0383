-- A 24-hour duty is declared (models.roster.Surveyor.all_day); before, a shift that started when it ended
-- meant one. Stored definitions say so explicitly, so that they still validate.
UPDATE surveyors SET definition = definition || '{"all_day": true}'::jsonb
 WHERE definition->>'shift_start' = definition->>'shift_end' AND NOT definition ? 'all_day';
