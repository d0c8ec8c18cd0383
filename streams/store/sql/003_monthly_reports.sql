-- Monthly callback analysis reports and briefs, as generated and published.
CREATE TABLE monthly_reports (
    month         text PRIMARY KEY,             -- YYYY-MM
    due_date      date NOT NULL,                -- 5th working day of the following month
    generated_at  timestamptz NOT NULL,
    figures       jsonb NOT NULL,
    markdown      text NOT NULL,
    brief_markdown text NOT NULL,
    html          text NOT NULL,
    brief_html    text NOT NULL,
    published_at  timestamptz
);
