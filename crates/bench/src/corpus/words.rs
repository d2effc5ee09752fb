//! Fixed vocabularies the corpus draws from. They are part of the corpus format: changing
//! them changes every generated statement, so append rather than edit.

pub const FIRST_NAMES: &[&str] = &[
    "Amelia", "Noah", "Olivia", "Liam", "Emma", "Lucas", "Chloé", "Hugo", "Sofia", "Mateo",
    "Aisha", "Omar", "Mei", "Hiroshi", "Priya", "Arjun", "Zanele", "Kwame", "Ingrid", "Lars",
    "Fatima", "Yusuf", "Léa", "Gabriel", "Camila", "Diego", "Anya", "Dmitri", "Grace", "Ethan",
    "Nora", "Samuel", "Isabel", "Tomás", "Maya", "Elijah", "Zoé", "Louis", "Hana", "Kenji",
];

pub const LAST_NAMES: &[&str] = &[
    "Smith",
    "Martin",
    "Garcia",
    "Nguyen",
    "Müller",
    "Rossi",
    "Dubois",
    "Kowalski",
    "Silva",
    "Okafor",
    "Tanaka",
    "Patel",
    "Johansson",
    "Ivanova",
    "Haddad",
    "Moreau",
    "O'Brien",
    "Kim",
    "Fernández",
    "Lefebvre",
    "Novak",
    "Mensah",
    "Chen",
    "Larsen",
    "Bernard",
    "Costa",
    "Schmidt",
    "Andersen",
    "Rahman",
    "Dupont",
    "Walker",
    "Yilmaz",
    "Sato",
    "Lambert",
    "Kaur",
    "Fischer",
];

/// Course topics: (English title, French title, slug).
pub const COURSE_TOPICS: &[(&str, &str, &str)] = &[
    (
        "Data Privacy Fundamentals",
        "Fondamentaux de la protection des données",
        "data-privacy",
    ),
    (
        "Workplace Safety",
        "Sécurité au travail",
        "workplace-safety",
    ),
    (
        "Introduction to Statistics",
        "Introduction aux statistiques",
        "intro-statistics",
    ),
    (
        "Effective Communication",
        "Communication efficace",
        "communication",
    ),
    (
        "Cybersecurity Awareness",
        "Sensibilisation à la cybersécurité",
        "cybersecurity",
    ),
    (
        "Project Management Essentials",
        "Essentiels de la gestion de projet",
        "project-management",
    ),
    (
        "Customer Service Excellence",
        "Excellence du service client",
        "customer-service",
    ),
    (
        "Financial Literacy",
        "Culture financière",
        "financial-literacy",
    ),
    (
        "Leadership Foundations",
        "Bases du leadership",
        "leadership",
    ),
    (
        "Anti-Bribery and Corruption",
        "Lutte contre la corruption",
        "anti-bribery",
    ),
    (
        "Diversity and Inclusion",
        "Diversité et inclusion",
        "diversity-inclusion",
    ),
    (
        "First Aid Basics",
        "Notions de premiers secours",
        "first-aid",
    ),
    ("Agile Practices", "Pratiques agiles", "agile-practices"),
    (
        "Writing Clear Documentation",
        "Rédiger une documentation claire",
        "documentation",
    ),
    ("Introduction to SQL", "Introduction à SQL", "intro-sql"),
    (
        "Sustainable Operations",
        "Opérations durables",
        "sustainability",
    ),
];

/// Concepts questions and lessons are about.
pub const CONCEPTS: &[&str] = &[
    "risk assessment",
    "consent",
    "encryption",
    "incident reporting",
    "the median",
    "active listening",
    "phishing",
    "stakeholder mapping",
    "escalation",
    "compound interest",
    "delegation",
    "conflicts of interest",
    "unconscious bias",
    "the recovery position",
    "retrospectives",
    "audience analysis",
    "joins",
    "carbon accounting",
    "data minimisation",
    "hazard identification",
    "standard deviation",
    "feedback",
    "password hygiene",
    "scope creep",
    "service recovery",
    "budgeting",
    "coaching",
    "due diligence",
    "accessibility",
    "triage",
    "user stories",
    "style guides",
    "indexes",
    "life-cycle analysis",
    "retention periods",
    "protective equipment",
];

/// Lesson title patterns; `{}` is replaced by a concept.
pub const LESSON_PATTERNS: &[&str] = &[
    "Understanding {}",
    "A practical guide to {}",
    "Case study: {}",
    "Common mistakes with {}",
    "{} in everyday work",
    "Going further with {}",
];

/// Module title patterns; `{}` is replaced by a number.
pub const MODULE_NAMES: &[&str] = &[
    "Getting started",
    "Core principles",
    "Applying the principles",
    "Advanced topics",
    "Putting it all together",
    "Review and practice",
];

/// Words accepted as fill-in answers.
pub const FILL_IN_ANSWERS: &[&str] = &[
    "encryption",
    "consent",
    "median",
    "escalation",
    "audit",
    "mitigation",
    "backlog",
    "feedback",
    "index",
    "budget",
    "policy",
    "hazard",
];

/// Answers offered by choice questions.
pub const CHOICE_STEMS: &[&str] = &[
    "Tell your manager",
    "Ignore it",
    "Follow the procedure",
    "Ask a colleague",
    "Apply the principle",
    "Wait for the review",
    "Check the policy",
    "Share it publicly",
];

/// Learning platforms emitting statements, as `context.platform`.
pub const PLATFORMS: &[&str] = &[
    "Example LMS 5.2",
    "Example LMS Mobile 3.1",
    "Courseware Player 2.8",
];
