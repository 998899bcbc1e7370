"""Word lists and texts the demo portfolio is built from.

Every name here is invented: company names are pairs of made-up place-like words and an industry, people
are fictional first and last names, and every email domain is ``example.com`` (staff) or ``.example``
(customers), both reserved for examples. Texts are what a CSM or a customer would plausibly write.
"""

from __future__ import annotations

from typing import Final

from storage.models import FollowUpKind

# -------------------------------------------------------------------------------------------- people

STAFF_DOMAIN: Final = "example.com"
CUSTOMER_TLD: Final = "example"

# fmt: off
FIRST_NAMES: Final = (
    "Adaeze", "Anders", "Aroha", "Beatriz", "Callum", "Chiara", "Dario", "Elif", "Emeka", "Farah",
    "Freya", "Gustavo", "Hana", "Ilse", "Imani", "Jakob", "Keiko", "Lars", "Leilani", "Lucía", "Magnus",
    "Mireille", "Nikhil", "Noor", "Oskar", "Paloma", "Quinn", "Rafael", "Saoirse", "Signe", "Tariq",
    "Tove", "Uma", "Valentin", "Wanjiru", "Xavier", "Yara", "Yusuf", "Zofia", "Zain",
)
LAST_NAMES: Final = (
    "Ashcombe", "Bellweather", "Brightmore", "Calderwood", "Dunmarrow", "Eastlake", "Fennimore",
    "Galloway-Reyes", "Hartwell", "Ironwood", "Jessamy", "Kettleby", "Larchmont", "Merriweather",
    "Nightingale", "Oakenshaw", "Pemberton-Ode", "Quillfeather", "Ravensworth", "Silvermane",
    "Thistlewood", "Underhill", "Vantongeren", "Whitlock", "Yarborough", "Zephyrine", "Amberlay",
    "Blackwood-Sato", "Copperfield", "Delacourt", "Elderberry", "Foxworth", "Greenhalgh", "Holloway",
    "Inglewood", "Juniper", "Kingsley-Obi", "Lindqvist-Hale", "Moorcroft", "Northcott",
)
CONTACT_FIRST_NAMES: Final = (
    "Aiko", "Bram", "Carmen", "Dev", "Esra", "Femi", "Greta", "Hugo", "Inés", "Jae", "Kofi", "Lena",
    "Mateo", "Nadia", "Olu", "Pia", "Quentin", "Rosa", "Sven", "Tala", "Umar", "Vera", "Wen", "Ximena",
    "Yosef", "Zara",
)

TIME_ZONES: Final = (
    "America/New_York", "Europe/London", "Europe/Berlin", "Asia/Singapore", "America/Los_Angeles",
    "America/Chicago", "Australia/Sydney", "Europe/Paris", "Asia/Tokyo", "America/Sao_Paulo",
)

# ------------------------------------------------------------------------------------------- accounts

COMPANY_PREFIXES: Final = (
    "Alderbrook", "Amberfield", "Ashgrove", "Bellmoor", "Birchway", "Bramblecrest", "Briarwood",
    "Cedarline", "Clearbrook", "Cloudberry", "Cobalt Ridge", "Copperleaf", "Cresthaven", "Driftwood",
    "Duskmere", "Eastbridge", "Elmstead", "Emberly", "Fairhollow", "Fernhill", "Foxglove", "Frostvale",
    "Glenmarrow", "Goldcrest", "Greywillow", "Hazelmere", "Highmoor", "Hollowbrook", "Ironbark",
    "Juniper Bay", "Kestrel Point", "Lakeshire", "Larkspur", "Lanternfish", "Maplecroft", "Marshgate",
    "Meadowlark", "Millbrook", "Moonstone", "Northcove", "Oakhaven", "Orchard Lane", "Pebblestone",
    "Quarry Hill", "Ravenscroft", "Redfern", "Rosemont", "Saltmarsh", "Sandpiper", "Shorewood",
    "Silverpine", "Skylark", "Stonebridge", "Sunmeadow", "Thistledown", "Umberfield", "Valewood",
    "Whistlewood", "Willowmere", "Windward", "Wrenfield", "Yarrowby", "Étoile Bleue", "Brückenhof",
)
COMPANY_INDUSTRIES: Final = (
    "Analytics", "Logistics", "Robotics", "Foods", "Labs", "Manufacturing", "Outfitters", "Studios",
    "Freight", "Insurance Group", "Energy", "Biotech", "Capital", "Hospitality", "Learning", "Retail",
    "Software", "Systems", "Textiles", "Dental Group", "Media", "Architects", "Marine", "Aerospace",
    "Agritech", "Pharma", "Security", "Telecom", "Travel", "Print Works", "Coffee Roasters", "Cycles",
)

# fmt: on

SEGMENTS: Final = ("enterprise", "mid-market", "smb")

# ------------------------------------------------------------------------------------------- surveys

# Comments are written so their tone (VADER's compound score, see bot.feedback.sentiment) matches the answer:
# most detractor comments read clearly negative and several strongly negative (-0.6 or below), promoters
# read positive, passives are mixed, and a few are neutral, as real comments often are.
NPS_DETRACTOR_COMMENTS: Final = (
    "Every release breaks our reports and we lose hours fixing them. Awful.",
    "Exports keep failing, so our finance team gave up and went back to spreadsheets.",
    "Support is awful: days to answer, and two tickets closed with no fix. We are losing patience.",
    "The new dashboard is much slower than the old one; my team hates it and stopped using it.",
    "Outages during our month-end close again. Awful and stressful, every single time.",
    "Half of the team still cannot sign in with SSO. Annoying and embarrassing.",
    "We are paying for features we cannot get to work. Disappointing.",
    "Reporting has been down twice this month.",
    "Worst vendor experience we have had: broken exports, ignored tickets, wasted weeks. Terrible.",
)
NPS_PASSIVE_COMMENTS: Final = (
    "Does the job, but the mobile app lags behind the web version.",
    "Good product; getting new team members started still takes too long.",
    "Solid overall, though we would like a better CRM sync.",
    "Fine for day-to-day work; the reporting could be more flexible.",
    "Works well once it is set up, but setup was painful.",
)
NPS_PROMOTER_COMMENTS: Final = (
    "Our CSM is fantastic and always one step ahead.",
    "The automated reports save my team hours every week.",
    "We rolled it out to three more teams this quarter and everyone loves it.",
    "Reliable, fast, and support actually listens.",
    "The best tool we adopted this year.",
    "Dashboards are now part of every leadership meeting, and people love them.",
)
NPS_ONBOARDING_COMMENTS: Final = (
    "Onboarding has been smooth so far; the kickoff was well organised.",
    "Setup went to plan and the team was very responsive.",
    "Early days, but the first dashboards already look useful.",
)
NPS_RECOVERED_COMMENTS: Final = (
    "Much better since the performance fix; thanks for the quick turnaround.",
    "The recovery plan helped; usage is picking up again, thank you.",
    "Appreciated the weekly check-ins while things were rough.",
)
CSAT_POSITIVE_COMMENTS: Final = (
    "Quick and clear answer, thank you!",
    "Solved on the first reply.",
    "Patient support engineer, solved it quickly.",
    "Great walkthrough of the new export options.",
)
CSAT_NEGATIVE_COMMENTS: Final = (
    "Third time I have had to explain the same issue. Frustrating.",
    "Ticket was closed without a fix, very frustrating.",
    "Took a week to get a first answer, which is unacceptable.",
    "The workaround does not work for our setup, and nobody followed up. Disappointed.",
)
# Customer effort (CES, 1 very easy .. 7 very hard).
CES_EASY_COMMENTS: Final = (
    "Easy: the import wizard did it in minutes.",
    "Simple to set up, great docs.",
    "Effortless, the new SSO setup just worked. Great.",
)
CES_HARD_COMMENTS: Final = (
    "Far too many steps to change a user's role; tedious and confusing.",
    "Setting up the CRM sync was a struggle; we needed three calls.",
    "Confusing settings, it took hours to find the export option.",
    "Hard work: the permissions screen is a mess.",
)

# ------------------------------------------------------------------------------------- success plans
# Outcomes a customer agrees with its CSM that a person marks achieved (no metric measures them).
MANUAL_OUTCOMES: Final = (
    "Executive sponsor signs off the rollout plan",
    "Finance closes the month from the product",
    "Regional teams trained and live",
    "Board pack built from the dashboards",
    "CRM sync live for the sales team",
    "Legacy reporting tool retired",
    "New hires onboarded without a trainer",
)
CUSTOMER_OWNER_ROLES: Final = (
    "VP Operations",
    "Head of Finance",
    "IT lead",
    "Director of Sales",
    "COO",
    "Head of Customer Support",
)

# ---------------------------------------------------------------------------------------- follow-ups
# (kind, summary, next step); {contact} is the customer contact's first name. A note has no next step.

FollowUpText = tuple[FollowUpKind, str, str | None]

HEALTHY_FOLLOW_UPS: Final[tuple[FollowUpText, ...]] = (
    (
        FollowUpKind.CALL,
        "Monthly check-in with {contact}: usage steady, team happy with the new reports.",
        "Share the release notes for the new dashboard filters.",
    ),
    (
        FollowUpKind.EMAIL,
        "Sent {contact} the adoption summary for last month.",
        "Ask whether the finance team wants a workflow session.",
    ),
    (
        FollowUpKind.MEETING,
        "Workflow session with {contact}'s team on automated alerts.",
        "Send the recording and the alert templates.",
    ),
    (FollowUpKind.NOTE, "{contact} mentioned a possible expansion to another region next quarter.", None),
    (
        FollowUpKind.CALL,
        "Expansion call with {contact}: more seats for the support team under discussion.",
        "Prepare an expansion quote.",
    ),
    (
        FollowUpKind.EMAIL,
        "Invited {contact} to the customer advisory board.",
        "Confirm attendance and travel.",
    ),
    (
        FollowUpKind.MEETING,
        "Success plan review with {contact}: next goals agreed.",
        "Update the success plan document.",
    ),
)
DECLINING_FOLLOW_UPS: Final[tuple[FollowUpText, ...]] = (
    (
        FollowUpKind.CALL,
        "Check-in with {contact}: asked about the reporting outage, shared the status page.",
        "Confirm the fix date with engineering.",
    ),
    (
        FollowUpKind.EMAIL,
        "{contact} flagged that exports time out for large date ranges.",
        "Open a ticket with support and follow up in a week.",
    ),
    (
        FollowUpKind.EMAIL,
        "Emailed {contact} the incident summary for the reporting outage.",
        "Offer a call with the product lead.",
    ),
    (FollowUpKind.NOTE, "Champion {contact} is leaving the company at the end of the month.", None),
    (
        FollowUpKind.MEETING,
        "Usage review with {contact}: fewer active users, some work moved to spreadsheets.",
        "Propose a re-training session for the operations team.",
    ),
)
RECOVERING_FOLLOW_UPS: Final[tuple[FollowUpText, ...]] = (
    (
        FollowUpKind.MEETING,
        "Recovery plan agreed with {contact}: weekly syncs until usage is back.",
        "Send the recovery plan in writing.",
    ),
    (
        FollowUpKind.CALL,
        "Performance fix deployed; {contact} confirms reports load again.",
        "Check the usage numbers next week.",
    ),
    (
        FollowUpKind.MEETING,
        "Re-training session for {contact}'s team on dashboards.",
        "Share the training recording.",
    ),
    (
        FollowUpKind.CALL,
        "Usage climbing back; {contact} is positive about the roadmap.",
        "Schedule the next business review.",
    ),
    (FollowUpKind.EMAIL, "Sent {contact} the weekly usage report.", "Review the numbers on Friday's call."),
)
ONBOARDING_FOLLOW_UPS: Final[tuple[FollowUpText, ...]] = (
    (
        FollowUpKind.MEETING,
        "Kickoff with {contact}: goals, success criteria and timeline agreed.",
        "Send the onboarding plan and the SSO guide.",
    ),
    (FollowUpKind.CALL, "SSO configured with {contact}'s IT team.", "Start the data import."),
    (
        FollowUpKind.EMAIL,
        "Data import mostly done; {contact} needs the template for the remaining regions.",
        "Send the import template.",
    ),
    (FollowUpKind.MEETING, "Admin training for {contact} and two team leads.", "Invite the wider team."),
)
# After the first steps above, onboarding touchpoints are drawn from these.
ONBOARDING_ONGOING_FOLLOW_UPS: Final[tuple[FollowUpText, ...]] = (
    (
        FollowUpKind.CALL,
        "Weekly onboarding sync with {contact}: open setup items reviewed.",
        "Chase the open setup items with their IT team.",
    ),
    (FollowUpKind.EMAIL, "Shared best-practice guides with {contact}.", "Check which guides were used."),
    (FollowUpKind.MEETING, "Dashboard workshop with {contact}'s team leads.", "Agree the go-live date."),
    (FollowUpKind.NOTE, "{contact} asked for a second admin training for the night shift.", None),
    (
        FollowUpKind.CALL,
        "Adoption check with {contact}: first teams active, others waiting for training.",
        "Book the training sessions for the remaining teams.",
    ),
)
CHURNING_FOLLOW_UPS: Final[tuple[FollowUpText, ...]] = (
    (
        FollowUpKind.CALL,
        "Escalation call with {contact} about repeated outages.",
        "Send the incident report.",
    ),
    (FollowUpKind.EMAIL, "{contact} asked for a copy of all their data.", "Confirm the export format."),
    (FollowUpKind.MEETING, "{contact} confirmed they will not renew.", "Hold an exit interview."),
)
EXIT_NOTE: Final = (
    "Exit interview with {contact}: reliability and slow support were the main reasons for leaving."
)
QBR_FOLLOW_UP: Final = (
    "Quarterly business review with {contact}: results reviewed, goals for next quarter agreed.",
    "Send the QBR deck and action items.",
)
