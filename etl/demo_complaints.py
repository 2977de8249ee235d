"""The demo city's 311 complaint types and responding agencies: names, volumes, seasons, times of
day, descriptors, places, resolution times and closing notes, shaped like NYC's export.

Why here and not in the generator: the same profiles drive the bulk 311 file (etl/demo_nyc311.py)
and the live simulator (etl/simulate.py).
"""
from __future__ import annotations

import math
import zlib

# ---- agencies: name, median hours to close, lognormal sigma, hours to the due date, closing notes --
AGENCIES = {
    "NYPD": ("New York City Police Department", 1.5, 1.0, 8, (
        "The Police Department responded to the complaint and took action to fix the condition.",
        "The Police Department responded to the complaint and with the information available observed no evidence of the violation at that time.",
        "The Police Department responded and upon arrival those responsible for the condition were gone.",
        "The Police Department issued a summons in response to the complaint.")),
    "HPD": ("Department of Housing Preservation and Development", 100, 0.9, 240, (
        "The Department of Housing Preservation and Development inspected the following conditions. Violations were issued. Information about specific violations is available at www.nyc.gov/hpd.",
        "The Department of Housing Preservation and Development inspected the following conditions. No violations were issued. The complaint has been closed.",
        "The Department of Housing Preservation and Development contacted a tenant in the building and verified that the following conditions were corrected. The complaint has been closed.")),
    "DSNY": ("Department of Sanitation", 48, 1.1, 168, (
        "The Department of Sanitation cleaned the location.", "The Department of Sanitation investigated this complaint and found no condition at the location.")),
    "DOT": ("Department of Transportation", 170, 1.3, 720, (
        "The Department of Transportation inspected this condition and repaired the problem.",
        "The Department of Transportation inspected the condition and determined that no repair was needed at this time.",
        "The Department of Transportation referred this complaint to the appropriate Maintenance Unit for repair.")),
    "DEP": ("Department of Environmental Protection", 36, 1.3, 336, (
        "The Department of Environmental Protection has inspected your complaint and corrected the problem.",
        "The Department of Environmental Protection did not observe a violation at the time of inspection and could not issue a notice of violation.")),
    "DOB": ("Department of Buildings", 480, 1.2, 1440, (
        "The Department of Buildings conducted an inspection and issued a violation.",
        "The Department of Buildings attempted to inspect the condition but could not gain access to the location.",
        "The Department of Buildings investigated this complaint and determined that no further action was necessary.")),
    "DPR": ("Department of Parks and Recreation", 336, 1.4, 720, (
        "The Department of Parks and Recreation completed the requested work.",
        "The Department of Parks and Recreation inspected the condition and determined that no work is required at this time.")),
    "DOHMH": ("Department of Health and Mental Hygiene", 240, 1.2, 720, (
        "The Department of Health and Mental Hygiene inspected the property and issued a violation.",
        "The Department of Health and Mental Hygiene did not find a violation at the time of inspection.")),
    "DHS": ("Department of Homeless Services", 3, 0.8, 24, (
        "The mobile outreach team responded and engaged the individual.", "The mobile outreach team responded but could not locate the individual.")),
    "TLC": ("Taxi and Limousine Commission", 480, 1.0, 1440, (
        "The Taxi and Limousine Commission reviewed your complaint and issued a summons to the driver.",
        "The Taxi and Limousine Commission closed your complaint because additional information is needed.")),
    "DCWP": ("Department of Consumer and Worker Protection", 336, 1.0, 1080, (
        "The Department of Consumer and Worker Protection mediated your complaint and the business agreed to a resolution.",
        "The Department of Consumer and Worker Protection could not resolve your complaint.")),
    "EDC": ("Economic Development Corporation", 24, 0.7, 168, ("Your complaint has been forwarded to the Economic Development Corporation, which monitors helicopter noise.",)),
    "DOE": ("Department of Education", 120, 1.0, 336, ("The Department of Education reviewed this request and took the appropriate action.",)),
    "DFTA": ("Department for the Aging", 240, 1.0, 720, ("The Department for the Aging contacted the client and provided services.",)),
    "OTI": ("Office of Technology and Innovation", 168, 1.0, 720, ("The Office of Technology and Innovation referred this complaint to the franchisee, which repaired the unit.",)),
    "DOF": ("Department of Finance", 336, 1.0, 720, ("The Department of Finance reviewed your request and mailed a response.",)),
    "HRA": ("Human Resources Administration", 120, 0.9, 336, ("The Human Resources Administration processed your request.",)),
}
OPEN_NOTE = "The complaint has been received and is being reviewed by the responding agency."

# ---- complaint types: name, agency, season, time of day, descriptors, location types ---------------
# Volumes are Zipf-like by rank: this list in order (the big ones, roughly as in NYC), then the tail.
HEAD = (
    ("Illegal Parking", "NYPD", "", "", "Blocked Hydrant;Double Parked Blocking Traffic;Double Parked Blocking Vehicle;Commercial Overnight Parking;Posted Parking Sign Violation;Blocked Sidewalk;Blocked Bike Lane", "Street/Sidewalk"),
    ("Noise - Residential", "NYPD", "summer", "night", "Loud Music/Party;Banging/Pounding;Loud Talking;Loud Television", "Residential Building/House"),
    ("HEAT/HOT WATER", "HPD", "heat", "", "ENTIRE BUILDING;APARTMENT ONLY", "RESIDENTIAL BUILDING"),
    ("Blocked Driveway", "NYPD", "", "", "No Access;Partial Access", "Street/Sidewalk"),
    ("Noise - Street/Sidewalk", "NYPD", "summer", "night", "Loud Music/Party;Loud Talking", "Street/Sidewalk"),
    ("UNSANITARY CONDITION", "HPD", "pests", "", "PESTS;MOLD;GARBAGE/RECYCLING STORAGE;SEWAGE", "RESIDENTIAL BUILDING"),
    ("Street Condition", "DOT", "thaw", "day", "Pothole;Cave-in;Failed Street Repair;Defective Hardware;Plate Condition - Noisy", "Street"),
    ("Water System", "DEP", "", "", "Hydrant Running (WC3);Leak (Use Comments) (WA2);No Water (WNW);Low Water Pressure - WLWP;Hydrant Leaking (WC1)", "Street"),
    ("Noise - Commercial", "NYPD", "summer", "night", "Loud Music/Party;Banging/Pounding;Loud Talking", "Club/Bar/Restaurant;Store/Commercial"),
    ("Abandoned Vehicle", "NYPD", "", "", "With License Plate;Without License Plate", "Street/Sidewalk"),
    ("Street Light Condition", "DOT", "", "", "Street Light Out;Street Light Cycling;Lamppost Damaged;Street Light Dayburning", "Street"),
    ("PLUMBING", "HPD", "", "", "WATER SUPPLY;BASIN/SINK;TOILET;LEAKY FAUCET;BATHTUB/SHOWER", "RESIDENTIAL BUILDING"),
    ("Dirty Condition", "DSNY", "", "day", "Trash;Litter;Dumping;Sidewalk Debris", "Sidewalk"),
    ("Noise - Vehicle", "NYPD", "summer", "night", "Car/Truck Music;Engine Idling;Car/Truck Horn", "Street/Sidewalk"),
    ("Noise", "DEP", "outdoor", "day", "Noise: Construction Before/After Hours (NM1);Noise: Jack Hammering (NC2);Noise: Alarms (NR3);Noise, Barking Dog (NR5);Noise: air condition/ventilation equipment (NV1)", "Above Address"),
    ("PAINT/PLASTER", "HPD", "", "", "WALL;CEILING", "RESIDENTIAL BUILDING"),
    ("General Construction/Plumbing", "DOB", "outdoor", "day", "Illegal Conversion Of Residential Building/Space;Building Permit - None;Working Contrary To Stop Work Order;Plumbing Work - Illegal/No Permit", "Building (Non-Residential);Residential Building"),
    ("Rodent", "DOHMH", "pests", "day", "Rat Sighting;Mouse Sighting;Condition Attracting Rodents;Signs of Rodents", "3+ Family Apt. Building;1-2 Family Dwelling;Commercial Building;Vacant Lot"),
    ("DOOR/WINDOW", "HPD", "", "", "DOOR;WINDOW PANE;WINDOW GUARD BROKEN/MISSING;DOOR FRAME", "RESIDENTIAL BUILDING"),
    ("Traffic Signal Condition", "DOT", "", "", "Controller;Pedestrian Signal;Lamp Out;Cycle Time", "Street"),
    ("WATER LEAK", "HPD", "", "", "HEAVY FLOW;SLOW LEAK;DAMP SPOT", "RESIDENTIAL BUILDING"),
    ("Sewer", "DEP", "", "", "Sewer Backup (Use Comments) (SA);Catch Basin Clogged/Flooding (Use Comments) (SC);Manhole Cover Missing (SA1);Street Flooding (SJ)", "Street"),
    ("Illegal Fireworks", "NYPD", "fireworks", "night", "Fireworks", "Street/Sidewalk"),
    ("Sidewalk Condition", "DOT", "outdoor", "day", "Broken Sidewalk;Sidewalk Grating - Defective;Sidewalk Violation", "Sidewalk"),
    ("Damaged Tree", "DPR", "outdoor", "", "Branch Cracked and Will Fall;Tree Leaning/Uprooted;Branch or Limb Has Fallen Down", "Street"),
    ("Missed Collection", "DSNY", "", "day", "Trash;Recycling - Paper;Recycling - Metal/Glass/Plastic;Organics", "Sidewalk"),
    ("Encampment", "NYPD", "summer", "", "Encampment", "Street/Sidewalk;Subway;Park/Playground"),
    ("ELECTRIC", "HPD", "", "", "POWER OUTAGES;OUTLET OR SWITCH;WIRING;LIGHTING", "RESIDENTIAL BUILDING"),
    ("Non-Emergency Police Matter", "NYPD", "", "", "Trespassing;Other (complaint details)", "Street/Sidewalk;Residential Building/House"),
    ("Derelict Vehicles", "DSNY", "", "day", "Derelict Vehicles", "Street"),
    ("Graffiti", "DSNY", "outdoor", "day", "Graffiti", "Building (Non-Residential)"),
    ("Homeless Person Assistance", "DHS", "heat", "", "Chronic;Non-Chronic", "Street/Sidewalk;Subway Station"),
    ("Illegal Dumping", "DSNY", "", "", "Removal Request", "Street"),
    ("Building/Use", "DOB", "", "day", "Illegal Conversion Of Residential Building/Space;Illegal Commercial Use", "Residential Building"),
    ("GENERAL", "HPD", "", "", "COOKING GAS;BELL/BUZZER/INTERCOM;VERMIN;ELEVATOR", "RESIDENTIAL BUILDING"),
    ("Consumer Complaint", "DCWP", "", "day", "Non-Delivery Goods;Overcharge;Exchange/Refund/Return;Price Not Posted", "Store/Commercial"),
    ("FLOORING/STAIRS", "HPD", "", "", "FLOOR;STAIRS", "RESIDENTIAL BUILDING"),
    ("Traffic", "NYPD", "", "day", "Truck Route Violation;Congestion/Gridlock;Drag Racing", "Street/Sidewalk"),
    ("Root/Sewer/Sidewalk Condition", "DPR", "", "day", "Trees and Sidewalks Program", "Street"),
    ("Overgrown Tree/Branches", "DPR", "outdoor", "day", "Blocking Street;Hitting Building;Blocking Street Lights", "Street"),
    ("Noise - Helicopter", "EDC", "summer", "day", "Other", "Above Address"),
    ("APPLIANCE", "HPD", "", "", "REFRIGERATOR;STOVE/RANGE", "RESIDENTIAL BUILDING"),
    ("Food Establishment", "DOHMH", "", "day", "Food Contaminated;Rodents/Insects/Garbage;Food Worker Hygiene;Kitchen/Food Prep Area", "Restaurant/Bar/Deli/Bakery"),
    ("Snow or Ice", "DSNY", "snow", "", "Snow or Ice;Sidewalk Ice", "Sidewalk"),
    ("Elevator", "DOB", "", "", "Elevator - Defective/Not Working;Elevator - Dangerous Condition", "Residential Building"),
    ("Street Sign - Damaged", "DOT", "", "", "Stop;One Way;No Parking;Street Name", "Street"),
    ("Taxi Complaint", "TLC", "", "", "Driver Complaint - Passenger;Driver Complaint - Non Passenger;Car/Truck Horn", "Street"),
    ("New Tree Request", "DPR", "outdoor", "day", "For One Address", "Street"),
    ("For Hire Vehicle Complaint", "TLC", "", "", "Car Service Company Complaint;Driver Complaint - Passenger", "Street"),
    ("Litter Basket Request", "DSNY", "", "day", "Request;Overflowing", "Street"),
    ("Noise - Park", "NYPD", "summer", "night", "Loud Music/Party;Loud Talking", "Park/Playground"),
    ("Dead/Dying Tree", "DPR", "outdoor", "", "Dead/Dying Tree", "Street"),
)
# The tail, "Complaint Type > Descriptor", interleaved by a name hash so no agency owns the bottom.
TAIL = {
    "NYPD": "Drinking > In Public | Animal-Abuse > Neglected | Drug Activity > Use Indoor | Lost Property > Cell Phone | Vending > Unlicensed | "
            "Panhandling > Aggressive | Bike/Roller/Skate Chronic > Reckless Riding | Posting Advertisement > Vehicle | Urinating in Public > Public Place | "
            "Noise - House of Worship > Loud Music/Party | Illegal Animal Kept as Pet > Rooster | Disorderly Youth > Loitering | Squeegee > Squeegee | "
            "Abandoned Bike > Abandoned Bike | Mass Gathering Complaint > Mass Gathering | Obstruction > Sidewalk Obstruction | Bike Rack > Damaged | "
            "Homeless Street Condition > Sleeping on Sidewalk | Illegal Vending > Food Cart",
    "HPD": "SAFETY > SMOKE DETECTOR | OUTSIDE BUILDING > ROOF | ELEVATOR > ELEVATOR NOT INSPECTED | HPD Literature Request > The ABCs of Housing | "
           "MOLD > BATHROOM | LEAD > PEELING PAINT | WINDOW GUARD > MISSING | Tenant Harassment > Eviction Threat | Heat/Hot Water - Bldg > Boiler",
    "DSNY": "Sanitation Condition > Street Cond/Dump-Out/Drop-Off | Dead Animal > Dog | Electronics Waste Appointment > Electronics | "
            "Commercial Disposal Complaint > Waste Left at Curb | Residential Disposal Complaint > Bags Out Early | Street Sweeping Complaint > Street Not Swept | "
            "Vacant Lot > Dirty Vacant Lot | Overflowing Litter Baskets > Litter Basket Full | Recycling Enforcement > Commercial | Snow Removal > Plowing Incomplete | "
            "Abandoned Bike Removal > Bike Chained | Organics Bin Request > Request | Bulky Item Collection > Request Large Bulky Item Collection | "
            "Sanitation Worker or Vehicle Complaint > Unsafe Driving | Uncollected Litter Basket > Litter Basket | E-Waste Collection > Request | "
            "Request Xmas Tree Collection > Request | Adopt-A-Basket > Request",
    "DOT": "Broken Parking Meter > No Receipt | Curb Condition > Broken Curb | Highway Condition > Pothole - Highway | Bridge Condition > Graffiti | "
           "Bus Stop Shelter Complaint > Damaged | Highway Sign - Damaged > Exit Only | Municipal Parking Facility > Lighting | Outdoor Dining > Blocking Sidewalk | "
           "Street Sign - Missing > Stop | Street Sign - Dangling > No Parking | DOT Sidewalk Repair > Sidewalk | Bike Lane Condition > Blocked | "
           "Traffic Sign - Request > Request | Speed Bump Request > Request | Citi Bike Station > Dock Damaged | Ferry Complaint > Late | "
           "Scaffold Safety - Street > Sidewalk Shed | Tunnel Condition > Lighting | Highway Lighting > Light Out | Traffic Signal Request > New Signal | "
           "Street Light Request > New Light | Pedestrian Ramp > Missing",
    "DEP": "Water Conservation > Hydrant Running Full (WA4) | Air Quality > Air: Odor/Fumes, Vehicle Idling (AD3) | Hazardous Materials > Chemical Odor | "
           "Asbestos > Asbestos Complaint (B1) | Industrial Waste > Waste Water Discharge | Water Quality > Taste/Odor, Chlorine (QA1) | "
           "Drinking Water > Cloudy | Lead Testing Kit > Request | Water Maintenance > Valve | Catch Basin > Clogged | Plant > Odor | Water Leak - Street > Leak",
    "DOB": "Plumbing > Gas Hook-Up/Piping - Illegal | Boilers > Defective | Scaffold Safety > Scaffold | Special Projects Inspection Team (SPIT) > Illegal Work | "
           "Building Condition > Facade | Cranes and Derricks > Crane | Electrical > Wiring | Construction Safety Enforcement > Fence | Sign > Illegal Sign | "
           "Illegal Conversion > Cellar | Zoning > Zoning Use | Facade Inspection > Crack",
    "DPR": "Illegal Tree Damage > Tree Removed | Maintenance or Facility > Structure | Animal in a Park > Raccoon | Violation of Park Rules > Unauthorized Use | "
           "Uprooted Stump > Stump Removal | Park Lighting > Lamp Out | Beach Condition > Debris | Dog Run > Gate | Playground Condition > Equipment | "
           "Tree Pruning > Request | Park Restroom > Closed | Parks Permit > Event | Sidewalk Tree Pit > Debris",
    "DOHMH": "Food Poisoning > 1 or 2 | Unsanitary Animal Pvt Property > Dog | Standing Water > Tires | Smoking > Smoking Violation | Mosquitoes > Trees With Holes | "
             "Day Care > Staffing | Indoor Sewage > Sewage Backup | Indoor Air Quality > Mold | Window Guard > Not Installed | Cooling Tower > Legionella | "
             "Beach/Pool/Sauna Complaint > Pool | Tattooing > Unlicensed | Unleashed Dog > Unleashed Dog | Dog or Cat Bite > Bite | Pet Shop > Animal Care | "
             "Harboring Bees/Wasps > Bees | Radioactive Material > Medical | Calorie Labeling > Menu | Vaccine Complaint > School | Lead > Child | Poison Ivy > Park | "
             "Rat Mitigation Zone > Inspection | Illegal Animal Sold > Pet Store",
    "DHS": "Homeless Shelter Complaint > Facility Condition",
    "TLC": "Taxi Report > Driver Report | Green Taxi Complaint > Driver Complaint | Taxi Compliment > Driver Compliment",
    "DCWP": "Consumer Complaint - Auto > Repair | Tobacco or Non-Tobacco Sale > Sale to Minor | Sidewalk Cafe > Encumbrance | Worker Complaint > Paid Sick Leave",
    "EDC": "Noise - Ferry > Horn",
    "DOE": "School Maintenance > Heating Problem | School Safety > Entrance",
    "DFTA": "Elder Abuse > Financial | Senior Center Complaint > Meals | Housing - Low Income Senior > Application",
    "OTI": "LinkNYC > Kiosk Damaged | Public Payphone Complaint > Phone Broken | Cable Complaint > Service",
    "DOF": "Real Property Tax > Exemption | Parking Card > Lost | DOF Parking - Payment Issue > Refund | Property Assessment > Appeal",
    "HRA": "Benefit Card Replacement > EBT | SNAP Complaint > Benefits",
}
# Location Type of the tail's complaints, by agency.
PLACES = {"NYPD": "Street/Sidewalk;Residential Building/House", "HPD": "RESIDENTIAL BUILDING", "DSNY": "Sidewalk;Street",
          "DOB": "Residential Building;Building (Non-Residential)", "DPR": "Park/Playground;Street",
          "DOHMH": "Restaurant/Bar/Deli/Bakery;3+ Family Apt. Building;1-2 Family Dwelling", "DCWP": "Store/Commercial",
          "DHS": "Street/Sidewalk", "DEP": "Above Address;Street", "TLC": "Street", "DFTA": "Residential Building"}
EXTRA = {"Noise - Park": 1, "Animal in a Park": 1, "Violation of Park Rules": 1, "Park Lighting": 1, "Playground Condition": 1,
         "Taxi Complaint": 2, "For Hire Vehicle Complaint": 2, "Green Taxi Complaint": 2, "Taxi Report": 2,
         "Highway Condition": 3, "Highway Sign - Damaged": 3, "Highway Lighting": 3, "Bridge Condition": 3}
# Month factors (Jan..Dec) and time-of-day factors (night, morning, afternoon, evening; weekend multiplier).
SEASONS = {
    "": (1,) * 12,
    "heat": (3.0, 2.6, 1.8, 0.8, 0.3, 0.12, 0.1, 0.1, 0.2, 0.8, 1.9, 2.8),
    "summer": (0.65, 0.65, 0.8, 0.95, 1.15, 1.35, 1.45, 1.35, 1.15, 1.0, 0.8, 0.7),
    "fireworks": (0.3, 0.1, 0.1, 0.2, 0.6, 4.0, 6.0, 1.0, 0.3, 0.2, 0.2, 0.8),
    "snow": (4.0, 3.5, 1.5, 0.1, 0.01, 0.01, 0.01, 0.01, 0.01, 0.05, 0.5, 2.5),
    "thaw": (1.3, 1.6, 1.8, 1.4, 1.0, 0.8, 0.7, 0.7, 0.7, 0.8, 0.9, 1.1),
    "outdoor": (0.6, 0.6, 0.8, 1.1, 1.3, 1.35, 1.35, 1.3, 1.2, 1.0, 0.8, 0.6),
    "pests": (0.5, 0.5, 0.7, 0.9, 1.2, 1.5, 1.7, 1.6, 1.3, 1.0, 0.7, 0.5),
}
DAYPARTS = {"": ((1, 1, 1, 1), 1.0), "night": ((2.4, 0.35, 0.6, 1.6), 1.5), "day": ((0.25, 1.35, 1.2, 0.55), 0.7)}


def stable_uniform(text: str) -> float:
    """A stable uniform in [0, 1) from a string (Python's hash() changes between processes)."""
    return zlib.crc32(text.encode()) / 2**32


def complaint_types() -> list[dict]:
    """About 200 complaint types in volume order, each with its agency and resolution-time profile."""
    tail = []
    for agency, spec in TAIL.items():
        for item in spec.split(" | "):
            name, descriptor = (s.strip() for s in item.split(">"))
            tail.append((name, agency, "", "", descriptor, ""))
    tail.sort(key=lambda t: stable_uniform(t[0]))
    out = []
    for rank, (name, agency, season, daypart, descriptors, locations) in enumerate((*HEAD, *tail)):
        _, median, sigma, target, _ = AGENCIES[agency]
        out.append({
            "name": name, "agency": agency, "season": season, "daypart": daypart,
            "descriptors": descriptors.split(";"), "locations": (locations or PLACES.get(agency, "Street")).split(";"),
            "weight": 1 / (rank + 1) ** 0.95,
            "median_hours": median * math.exp((stable_uniform(name + "/m") - 0.5) * 1.2),  # x0.55 .. x1.8 of the agency's
            "sigma": sigma, "target_hours": target, "extra": EXTRA.get(name, 0),
        })
    return out
