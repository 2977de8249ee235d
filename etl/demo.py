"""Deterministic demo data for the demo city (New York City shaped): 311 requests, snow, volunteers.

Why the 311 generator is SQL over range() with hash-based randomness: every value of row i is a pure
function of (i, seed), drawn as u(i, k) = DuckDB hash(64 i + k + seed offset), so the same seed gives
byte-identical files whatever the chunk size or number of workers, no random state is carried between
chunks, and 20 million rows stream out in fixed-size chunks in bounded memory, with no Python loop
per row. (Byte-identical holds for one DuckDB version: a new version may change hash().)
Snow and volunteer data are small and come from seeded Python generators (etl/demo_snow.py,
etl/demo_volunteers.py).
"""
from __future__ import annotations

import hashlib
import math
import os
import threading
import zlib
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa

from lake.sql import lit

DEFAULT_END = datetime(2026, 11, 20)
SPAN_DAYS = 1096  # three years of 311 requests before `end`
SCALES = {"small": 50_000, "medium": 1_000_000, "large": 20_000_000}
CHUNK_ROWS = 40_000
WORKERS = max(2, min(4, os.cpu_count() or 2))
TZ = ZoneInfo("America/New_York")
FMT = "%m/%d/%Y %I:%M:%S %p"
DIRT_RATE = 0.0001  # closed before created: the validator rightly rejects these few rows

HEADER = (
    "Unique Key,Created Date,Closed Date,Agency,Agency Name,Complaint Type,Descriptor,Location Type,Incident Zip,"
    "Incident Address,Street Name,Cross Street 1,Cross Street 2,Intersection Street 1,Intersection Street 2,"
    "Address Type,City,Landmark,Facility Type,Status,Due Date,Resolution Description,Resolution Action Updated Date,"
    "Community Board,BBL,Borough,X Coordinate (State Plane),Y Coordinate (State Plane),Open Data Channel Type,"
    "Park Facility Name,Park Borough,Vehicle Type,Taxi Company Borough,Taxi Pick Up Location,Bridge Highway Name,"
    "Bridge Highway Direction,Road Ramp,Bridge Highway Segment,Latitude,Longitude,Location"
)

# ---- geography: boroughs (share of 311 volume, BBL code, streets) and community districts --------
BOROUGHS = ("MANHATTAN", "BRONX", "BROOKLYN", "QUEENS", "STATEN ISLAND")
BOROUGH_SHARE = (0.21, 0.20, 0.30, 0.24, 0.05)
STREETS = (
    ("BROADWAY", "AMSTERDAM AVENUE", "LEXINGTON AVENUE", "2 AVENUE", "8 AVENUE", "ST NICHOLAS AVENUE", "FT WASHINGTON AVENUE",
     "POST AVENUE", "DYCKMAN STREET", "WEST  127 STREET", "EAST   14 STREET", "WEST   42 STREET", "EAST   86 STREET",
     "CANAL STREET", "DELANCEY STREET", "RIVERSIDE DRIVE", "MADISON AVENUE", "WEST  181 STREET"),
    ("GRAND CONCOURSE", "GERARD AVENUE", "JEROME AVENUE", "WEBSTER AVENUE", "SOUTHERN BOULEVARD", "WESTCHESTER AVENUE",
     "PELHAM PARKWAY", "EAST FORDHAM ROAD", "EAST TREMONT AVENUE", "CASTLE HILL AVENUE", "BOSTON ROAD", "WHITE PLAINS ROAD",
     "BAINBRIDGE AVENUE", "EAST  149 STREET", "EAST  161 STREET", "UNIVERSITY AVENUE", "SEDGWICK AVENUE"),
    ("NOSTRAND AVENUE", "FLATBUSH AVENUE", "ATLANTIC AVENUE", "BEDFORD AVENUE", "EASTERN PARKWAY", "OCEAN AVENUE", "KINGS HIGHWAY",
     "86 STREET", "17 AVENUE", "5 AVENUE", "MYRTLE AVENUE", "DEKALB AVENUE", "FULTON STREET", "CHURCH AVENUE", "UTICA AVENUE",
     "OCEAN PARKWAY", "CORTELYOU ROAD", "BUSHWICK AVENUE", "GRAHAM AVENUE"),
    ("JAMAICA AVENUE", "NORTHERN BOULEVARD", "QUEENS BOULEVARD", "ROOSEVELT AVENUE", "37 AVENUE", "STEINWAY STREET", "MAIN STREET",
     "LIBERTY AVENUE", "HILLSIDE AVENUE", "UNION TURNPIKE", "WOODHAVEN BOULEVARD", "JUNCTION BOULEVARD", "FRANCIS LEWIS BOULEVARD",
     "MERRICK BOULEVARD", "BEACH CHANNEL DRIVE", "21 STREET", "164 STREET", "METROPOLITAN AVENUE"),
    ("RICHMOND AVENUE", "HYLAN BOULEVARD", "VICTORY BOULEVARD", "FOREST AVENUE", "TARGEE STREET", "BAY STREET", "AMBOY ROAD",
     "ARTHUR KILL ROAD", "RICHMOND ROAD", "CASTLETON AVENUE", "PORT RICHMOND AVENUE", "ANNADALE ROAD", "TOMPKINS AVENUE", "MANOR ROAD"),
)
PARKS = (
    ("Central Park", "Riverside Park", "Inwood Hill Park", "Washington Square Park", "Marcus Garvey Park"),
    ("Van Cortlandt Park", "Pelham Bay Park", "Crotona Park", "Claremont Park"),
    ("Prospect Park", "McCarren Park", "Marine Park", "Sunset Park"),
    ("Flushing Meadows Corona Park", "Forest Park", "Astoria Park", "Cunningham Park"),
    ("Clove Lakes Park", "Silver Lake Park", "Willowbrook Park", "Wolfe's Pond Park"),
)
# BoroCD: (latitude, longitude, radius in degrees, ZIP codes, City as 311 writes it). Centres are inside
# each district (DCP boundaries); radius ~ a third of the district's size.
DISTRICTS = {
    101: (40.7121, -74.0095, .0060, "10004 10006 10007 10280", "NEW YORK"), 102: (40.7298, -74.0015, .0064, "10012 10014 10013", "NEW YORK"),
    103: (40.7196, -73.9856, .0072, "10002 10009", "NEW YORK"), 104: (40.7554, -73.9975, .0074, "10001 10011 10018 10019", "NEW YORK"),
    105: (40.7523, -73.9841, .0069, "10016 10017 10036 10010", "NEW YORK"), 106: (40.7447, -73.9746, .0065, "10016 10010 10022", "NEW YORK"),
    107: (40.7871, -73.9761, .0076, "10023 10024 10025", "NEW YORK"), 108: (40.7728, -73.9565, .0073, "10021 10028 10065 10075", "NEW YORK"),
    109: (40.8180, -73.9551, .0068, "10027 10031", "NEW YORK"), 110: (40.8137, -73.9448, .0066, "10026 10030 10037 10039", "NEW YORK"),
    111: (40.7971, -73.9407, .0069, "10029 10035", "NEW YORK"), 112: (40.8551, -73.9315, .0093, "10032 10033 10034 10040", "NEW YORK"),
    201: (40.8109, -73.9165, .0082, "10451 10454 10455", "BRONX"), 202: (40.8136, -73.8877, .0082, "10459 10474", "BRONX"),
    203: (40.8326, -73.8987, .0070, "10456 10459", "BRONX"), 204: (40.8337, -73.9209, .0078, "10452 10456", "BRONX"),
    205: (40.8527, -73.9095, .0065, "10453 10457", "BRONX"), 206: (40.8497, -73.8875, .0068, "10457 10460", "BRONX"),
    207: (40.8710, -73.8915, .0077, "10458 10467 10468", "BRONX"), 208: (40.8905, -73.9063, .0101, "10463 10471", "BRONX"),
    209: (40.8248, -73.8617, .0112, "10462 10472 10473", "BRONX"), 210: (40.8374, -73.8260, .0133, "10461 10464 10465", "BRONX"),
    211: (40.8561, -73.8528, .0105, "10461 10462 10469", "BRONX"), 212: (40.8862, -73.8514, .0131, "10466 10467 10469 10470 10475", "BRONX"),
    301: (40.7168, -73.9472, .0120, "11206 11211 11222", "BROOKLYN"), 302: (40.6935, -73.9787, .0093, "11201 11205 11217", "BROOKLYN"),
    303: (40.6877, -73.9406, .0093, "11216 11221 11233", "BROOKLYN"), 304: (40.6945, -73.9169, .0079, "11207 11221 11237", "BROOKLYN"),
    305: (40.6685, -73.8797, .0131, "11207 11208 11239", "BROOKLYN"), 306: (40.6764, -73.9945, .0097, "11215 11231", "BROOKLYN"),
    307: (40.6519, -74.0011, .0107, "11220 11232", "BROOKLYN"), 308: (40.6744, -73.9466, .0071, "11213 11216 11238", "BROOKLYN"),
    309: (40.6628, -73.9469, .0071, "11203 11225", "BROOKLYN"), 310: (40.6233, -74.0235, .0110, "11209 11228", "BROOKLYN"),
    311: (40.6072, -73.9937, .0106, "11204 11214", "BROOKLYN"), 312: (40.6312, -73.9833, .0105, "11218 11219 11230", "BROOKLYN"),
    313: (40.5806, -73.9821, .0098, "11224 11235", "BROOKLYN"), 314: (40.6319, -73.9592, .0095, "11226 11230", "BROOKLYN"),
    315: (40.5945, -73.9498, .0120, "11229 11235", "BROOKLYN"), 316: (40.6682, -73.9109, .0075, "11212 11233", "BROOKLYN"),
    317: (40.6481, -73.9338, .0101, "11203 11210 11236", "BROOKLYN"), 318: (40.6245, -73.9140, .0160, "11234 11236", "BROOKLYN"),
    401: (40.7677, -73.9170, .0130, "11101 11102 11103 11105 11106", "ASTORIA"), 402: (40.7405, -73.9230, .0124, "11101 11104 11377", "WOODSIDE"),
    403: (40.7582, -73.8771, .0096, "11368 11369 11370 11372", "JACKSON HEIGHTS"), 404: (40.7408, -73.8716, .0085, "11368 11373", "ELMHURST"),
    405: (40.7107, -73.8905, .0152, "11378 11379 11385", "RIDGEWOOD"), 406: (40.7222, -73.8513, .0095, "11374 11375", "FOREST HILLS"),
    407: (40.7715, -73.8160, .0190, "11354 11355 11357", "FLUSHING"), 408: (40.7262, -73.7974, .0151, "11365 11366 11432", "FRESH MEADOWS"),
    409: (40.6948, -73.8390, .0109, "11415 11418 11421", "RICHMOND HILL"), 410: (40.6694, -73.8327, .0137, "11414 11417 11420", "OZONE PARK"),
    411: (40.7567, -73.7591, .0170, "11361 11363 11364", "BAYSIDE"), 412: (40.6915, -73.7784, .0172, "11412 11433 11434 11435 11436", "JAMAICA"),
    413: (40.6996, -73.7373, .0196, "11411 11413 11422 11426 11428 11429", "QUEENS VILLAGE"), 414: (40.5930, -73.7908, .0130, "11691 11692 11693 11694", "FAR ROCKAWAY"),
    501: (40.6266, -74.1203, .0203, "10301 10302 10303 10304 10310", "STATEN ISLAND"), 502: (40.5932, -74.1419, .0255, "10305 10306 10314", "STATEN ISLAND"),
    503: (40.5412, -74.1903, .0257, "10307 10308 10309 10312", "STATEN ISLAND"),
}

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
HIGHWAYS = ("BQE/Gowanus Expwy", "Cross Bronx Expwy", "Long Island Expwy", "Grand Central Pkwy", "FDR Dr", "Major Deegan Expwy",
            "Belt Pkwy", "Staten Island Expwy", "Van Wyck Expwy", "Henry Hudson Pkwy")

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
# Overall requests by hour of day, weekdays and weekends; by month.
HOURLY = (
    (0.45, 0.3, 0.22, 0.18, 0.18, 0.25, 0.45, 0.75, 1.05, 1.25, 1.35, 1.35, 1.3, 1.3, 1.25, 1.2, 1.15, 1.1, 1.1, 1.1, 1.1, 1.1, 1.0, 0.8),
    (0.8, 0.6, 0.45, 0.3, 0.22, 0.2, 0.25, 0.4, 0.6, 0.8, 0.95, 1.05, 1.1, 1.1, 1.1, 1.05, 1.05, 1.05, 1.05, 1.1, 1.15, 1.2, 1.15, 1.0),
)
MONTHLY = (1.05, 1.0, 0.95, 0.92, 0.98, 1.08, 1.1, 1.05, 1.0, 1.0, 1.02, 1.05)


def _crc(text: str) -> float:
    """A stable uniform in [0, 1) from a string (Python's hash() changes between processes)."""
    return zlib.crc32(text.encode()) / 2**32


def complaint_types() -> list[dict]:
    """About 200 complaint types in volume order, each with its agency and resolution-time profile."""
    tail = []
    for agency, spec in TAIL.items():
        for item in spec.split(" | "):
            name, descriptor = (s.strip() for s in item.split(">"))
            tail.append((name, agency, "", "", descriptor, ""))
    tail.sort(key=lambda t: _crc(t[0]))
    out = []
    for rank, (name, agency, season, daypart, descriptors, locations) in enumerate((*HEAD, *tail)):
        _, median, sigma, target, _ = AGENCIES[agency]
        out.append({
            "name": name, "agency": agency, "season": season, "daypart": daypart,
            "descriptors": descriptors.split(";"), "locations": (locations or PLACES.get(agency, "Street")).split(";"),
            "weight": 1 / (rank + 1) ** 0.95,
            "median_hours": median * math.exp((_crc(name + "/m") - 0.5) * 1.2),  # x0.55 .. x1.8 of the agency's
            "sigma": sigma, "target_hours": target, "extra": EXTRA.get(name, 0),
        })
    return out


def _sql_list(values) -> str:
    return "[" + ", ".join(lit(v) for v in values) + "]"


def _csv(value: str) -> str:
    """A value as it appears in a CSV field: quoted when it holds a comma or a quote."""
    return '"' + value.replace('"', '""') + '"' if any(ch in value for ch in ',"\n') else value


def _flat(groups) -> tuple[list, list[int], list[int]]:
    """Lists of lists as one flat list plus per-group offsets and counts, for indexing in SQL."""
    flat, offsets, counts = [], [], []
    for g in groups:
        offsets.append(len(flat))
        counts.append(len(g))
        flat.extend(g)
    return flat, offsets, counts


def _epoch(dt: datetime) -> int:
    """Seconds since 1970 of a naive local time read as if it were UTC (the file's wall-clock value)."""
    return int(dt.replace(tzinfo=UTC).timestamp())


def _as_datetime(end) -> datetime:
    if end is None:
        return DEFAULT_END
    if isinstance(end, datetime):
        return end if end.tzinfo is None else end.astimezone(TZ).replace(tzinfo=None)
    if isinstance(end, date):
        return datetime(end.year, end.month, end.day)
    return _as_datetime(datetime.fromisoformat(str(end)))


def _slots(rows: int, seed: int, end: datetime) -> pa.Table:
    """One row per hour of the span with requests in it: first row index, row count, start, mix key.

    Row i of the file falls in the hour whose [first, first + n) holds i, so created times rise with i.
    The hour an early-spring clock change skips gets no requests: such a time does not exist in New York.
    """
    start = end - timedelta(days=SPAN_DAYS)
    weights, meta = [], []
    for day in range(SPAN_DAYS):
        t = start + timedelta(days=day)
        weekend = t.weekday() >= 5
        day_factor = MONTHLY[t.month - 1] * (1 + 0.05 * day / 365.25) * (0.85 + 0.3 * _crc(f"{seed}:{t.date()}"))
        midnight, late = t.replace(tzinfo=TZ), (t + timedelta(hours=23)).replace(tzinfo=TZ)
        skipped = 2 if late.utcoffset() > midnight.utcoffset() else None
        for hour in range(24):
            weights.append(0.0 if hour == skipped else day_factor * HOURLY[weekend][hour])
            meta.append((_epoch(t) + hour * 3600, (t.month - 1) * 8 + (hour // 6) * 2 + weekend))
    total, cum, first = sum(weights), 0.0, 0
    cols = {"first": [], "n": [], "t0": [], "key": []}
    for w, (t0, key) in zip(weights, meta, strict=True):
        cum += w
        nxt = min(rows, int(rows * cum / total))
        if nxt > first:
            cols["first"].append(first)
            cols["n"].append(nxt - first)
            cols["t0"].append(t0)
            cols["key"].append(key)
            first = nxt
    if first < rows:  # float rounding left a remainder: it goes to the last hour
        cols["n"][-1] += rows - first
    return pa.table(cols)


def _mix(types: list[dict]) -> pa.Table:
    """For each (month, part of day, weekend) key, the cumulative share of each complaint type."""
    cols = {"key": [], "lo": [], "ty": [], "agency": [], "median_s": [], "sigma": [], "target_s": []}
    agencies = list(AGENCIES)
    for key in range(96):
        month, part, weekend = key // 8, (key % 8) // 2, key % 2
        ws = []
        for t in types:
            factors, weekend_factor = DAYPARTS[t["daypart"]]
            ws.append(t["weight"] * SEASONS[t["season"]][month] * factors[part] * (weekend_factor if weekend else 1.0))
        total, cum = sum(ws), 0.0
        for ty, (t, w) in enumerate(zip(types, ws, strict=True)):
            cols["key"].append(key)
            cols["lo"].append(cum / total)
            cols["ty"].append(ty)
            cols["agency"].append(agencies.index(t["agency"]))
            cols["median_s"].append(t["median_hours"] * 3600)
            cols["sigma"].append(t["sigma"])
            cols["target_s"].append(int(t["target_hours"] * 3600))
            cum += w
    return pa.table(cols)


def _core_sql(lo: int, hi: int) -> str:
    """Rows lo..hi-1: created time from the hour slots, complaint type from that hour's mix."""
    return f"""CREATE OR REPLACE TEMP TABLE core AS
        WITH r AS (SELECT range AS i, u(range, 6) AS uf, u(range, 7) AS ut FROM range({lo}, {hi})),
        t AS (SELECT r.i, r.ut, s.key, s.t0 + floor(((r.i - s.first) + r.uf) * 3600.0 / s.n)::BIGINT AS created
              FROM r ASOF JOIN slots s ON r.i >= s.first)
        SELECT t.i, t.created, m.ty, m.agency, m.median_s, m.sigma, m.target_s
        FROM t ASOF JOIN mix m ON t.key = m.key AND t.ut >= m.lo
        ORDER BY t.i"""


def _lists(types: list[dict]) -> dict[str, list]:
    """The lookup lists the SQL indexes into, set once per connection as DuckDB variables.

    Variables keep the statements short: parsing ~50 KB of list literals for every chunk cost more
    than generating a small chunk.
    """
    agencies, codes = list(AGENCIES), sorted(DISTRICTS)
    out = {
        "boro_first": [codes.index(next(c for c in codes if c // 100 == b + 1)) for b in range(5)],
        "boro_count": [sum(1 for c in codes if c // 100 == b + 1) for b in range(5)],
        "cd_lat": [DISTRICTS[c][0] for c in codes], "cd_lon": [DISTRICTS[c][1] for c in codes], "cd_rad": [DISTRICTS[c][2] for c in codes],
        "cities": [DISTRICTS[c][4] for c in codes], "boards": [f"{c % 100:02d} {BOROUGHS[c // 100 - 1]}" for c in codes],
        "boroughs": list(BOROUGHS), "blocks": [2250, 5958, 8955, 16350, 8050], "highways": list(HIGHWAYS),
        "agencies": agencies, "agency_names": [_csv(AGENCIES[a][0]) for a in agencies],
        "types": [_csv(t["name"]) for t in types], "extra": [t["extra"] for t in types],
    }
    for name, groups in (("streets", STREETS), ("parks", PARKS), ("zips", [DISTRICTS[c][3].split() for c in codes]),
                         ("descriptors", [[_csv(x) for x in t["descriptors"]] for t in types]),
                         ("places", [[_csv(x) for x in t["locations"]] for t in types]),
                         ("notes", [[_csv(x) for x in AGENCIES[a][4]] for a in agencies])):
        out[name], out[f"{name}_off"], out[f"{name}_n"] = _flat(groups)
    return out


def v(name: str) -> str:
    return f"getvariable('{name}')"


def _pick(name: str, group: str, k: int) -> str:
    """A uniformly drawn (draw k) element of `group`'s part of the flat list `name`."""
    return f"{v(name)}[1 + {v(name + '_off')}[{group} + 1] + floor(u(i, {k}) * {v(name + '_n')}[{group} + 1])::INT]"


def _rows_sql(end_s: int) -> str:
    """The values of each request that several export columns share, computed once per row."""
    share = [sum(BOROUGH_SHARE[: b + 1]) for b in range(4)]
    return f"""CREATE OR REPLACE TEMP TABLE rows AS
    WITH a AS (
      SELECT i, created, ty, agency, target_s, {end_s} - created AS age,
        CASE {' '.join(f'WHEN u(i, 10) < {share[b]} THEN {b}' for b in range(4))} ELSE 4 END AS b,
        u(i, 11) < 0.004 AS unsp,
        least(400 * 86400, greatest(120, median_s * exp(sigma * sqrt(-2 * ln(u(i, 1) + 1e-300)) * cos(2 * pi() * u(i, 2)))))::BIGINT AS res
      FROM core),
    b AS (
      SELECT *, {v('boro_first')}[b + 1] + floor(u(i, 12) * {v('boro_count')}[b + 1])::INT AS cd,
        res > age OR u(i, 3) < 0.03 + 0.5 * exp(-age / (86400 * 60.0)) AS open,
        {v('streets_off')}[b + 1] AS s_off, {v('streets_n')}[b + 1] AS s_n, floor(u(i, 13) * 100)::INT AS s
      FROM a),
    c AS (
      SELECT *,
        CASE WHEN open THEN NULL WHEN u(i, 4) < {DIRT_RATE} THEN created - 3600 - floor(u(i, 5) * 86400 * 20)::BIGINT ELSE created + res END AS closed,
        CASE WHEN NOT open THEN 0 WHEN agency = 0 THEN 2 WHEN agency = 1 THEN 1 WHEN u(i, 24) < 0.45 THEN 1
             WHEN u(i, 24) < 0.8 THEN 2 WHEN u(i, 24) < 0.92 THEN 3 ELSE 4 END AS st,
        CASE WHEN NOT unsp AND u(i, 19) >= 0.01
             THEN greatest(40.47, least(40.93, {v('cd_lat')}[cd + 1] + {v('cd_rad')}[cd + 1] * (u(i, 15) + u(i, 16) - 1))) END AS lat
      FROM b)
    SELECT i, created, ty, agency, b, cd, unsp, st, closed, age, {v('extra')}[ty + 1] AS extra,
      CASE WHEN created + target_s <= {end_s} THEN created + target_s END AS due,
      CASE WHEN unsp THEN 0 WHEN u(i, 14) < 0.84 THEN 1 WHEN u(i, 14) < 0.94 THEN 2 WHEN u(i, 14) < 0.97 THEN 3
           WHEN u(i, 14) < 0.98 THEN 4 ELSE 0 END AS atype,
      1 + s_off + s % s_n AS s1,
      1 + s_off + (s + 1 + floor(u(i, 20) * 5)::INT) % s_n AS s2,
      1 + s_off + (s + 6 + floor(u(i, 21) * 5)::INT) % s_n AS s3,
      lat, CAST(lat AS VARCHAR) AS lat_s,
      CAST(CASE WHEN lat IS NOT NULL
                THEN greatest(-74.27, least(-73.68, {v('cd_lon')}[cd + 1] + 1.3 * {v('cd_rad')}[cd + 1] * (u(i, 17) + u(i, 18) - 1))) END
           AS VARCHAR) AS lon_s
    FROM c"""


def _line_sql(end_s: int) -> str:
    """One finished CSV line per row, fields joined by commas and quoted where they need it.

    One concat() per row whose bytes are written straight from Arrow is about twice as fast as
    DuckDB's order-preserving CSV COPY of 41 columns (measured on 2 cores: ~3 s against ~7 s per
    million rows).
    """
    ts = lambda e: f"strftime(make_timestamp(({e}) * 1000000), '{FMT}')"  # noqa: E731
    street, cross1, cross2, borough = f"{v('streets')}[s1]", f"{v('streets')}[s2]", f"{v('streets')}[s3]", f"{v('boroughs')}[b + 1]"
    house = ("CASE WHEN b = 3 THEN concat(10 + floor(u(i, 22) * 240)::INT, '-', lpad((1 + floor(u(i, 23) * 98)::INT)::VARCHAR, 2, '0')) "
             "ELSE (1 + floor(u(i, 22) * u(i, 22) * 2400)::INT)::VARCHAR END")
    fields = [
        "55000000 + i + i * 137 // 1000",  # Unique Key: rises with i, with gaps like the real ones
        ts("created"),
        ts("closed"),
        f"{v('agencies')}[agency + 1]",
        f"{v('agency_names')}[agency + 1]",
        f"{v('types')}[ty + 1]",
        _pick("descriptors", "ty", 25),
        _pick("places", "ty", 26),
        f"CASE WHEN NOT unsp AND u(i, 27) >= 0.005 THEN {_pick('zips', 'cd', 28)} END",
        f"CASE WHEN atype IN (1, 4) THEN concat({house}, ' ', {street}) END",
        f"CASE WHEN atype IN (1, 3) THEN {street} END",
        f"CASE WHEN atype IN (1, 3) THEN {cross1} END",
        f"CASE WHEN atype IN (1, 3) THEN {cross2} END",
        f"CASE atype WHEN 1 THEN {cross1} WHEN 2 THEN {street} END",
        f"CASE atype WHEN 1 THEN {cross2} WHEN 2 THEN {cross1} END",
        "['', 'ADDRESS', 'INTERSECTION', 'BLOCKFACE', 'UNRECOGNIZED'][atype + 1]",
        f"CASE WHEN NOT unsp THEN {v('cities')}[cd + 1] END",
        f"CASE WHEN atype = 1 THEN {street} END",  # Landmark
        "''",  # Facility Type
        "['Closed', 'Open', 'In Progress', 'Assigned', 'Pending'][st + 1]",
        ts("due"),
        f"CASE WHEN closed IS NOT NULL THEN {_pick('notes', 'agency', 29)} WHEN agency > 0 AND st > 1 THEN {lit(_csv(OPEN_NOTE))} END",
        f"CASE WHEN closed IS NOT NULL THEN {ts(f'least({end_s}, closed + 5 + floor(u(i, 30) * 600)::BIGINT)')} "
        f"WHEN agency > 0 AND st > 1 THEN {ts('created + floor(u(i, 30) * least(age, 259200))::BIGINT')} END",
        f"CASE WHEN unsp THEN '0 Unspecified' ELSE {v('boards')}[cd + 1] END",
        f"CASE WHEN atype = 1 THEN (b + 1) * 1000000000::BIGINT + (1 + floor(u(i, 31) * {v('blocks')}[b + 1])::BIGINT) * 10000"
        " + 1 + floor(u(i, 32) * 150)::BIGINT END",  # BBL
        f"CASE WHEN unsp THEN 'Unspecified' ELSE {borough} END",
        "round(983687 + (CAST(lon_s AS DOUBLE) + 74.002028) * 276760)::BIGINT",  # State Plane feet, near enough
        "round(162001 + (lat - 40.611332) * 364370)::BIGINT",
        "CASE WHEN u(i, 33) < 0.31 THEN 'PHONE' WHEN u(i, 33) < 0.62 THEN 'ONLINE' WHEN u(i, 33) < 0.94 THEN 'MOBILE' "
        "WHEN u(i, 33) < 0.99 THEN 'UNKNOWN' ELSE 'OTHER' END",
        f"CASE WHEN extra = 1 AND NOT unsp THEN {_pick('parks', 'b', 34)} ELSE 'Unspecified' END",
        f"CASE WHEN unsp THEN 'Unspecified' ELSE {borough} END",
        "''",  # Vehicle Type
        "''",  # Taxi Company Borough
        f"CASE WHEN extra = 2 AND NOT unsp THEN concat('\"', {street}, ' AND ', {cross1}, ', ', {borough}, ', NY\"') END",
        f"CASE WHEN extra = 3 THEN {v('highways')}[1 + floor(u(i, 35) * {len(HIGHWAYS)})::INT] END",
        "CASE WHEN extra = 3 THEN ['Eastbound', 'Westbound', 'Northbound', 'Southbound'][1 + floor(u(i, 36) * 4)::INT] END",
        "CASE WHEN extra = 3 THEN CASE WHEN u(i, 37) < 0.8 THEN 'Roadway' ELSE 'Ramp' END END",
        "CASE WHEN extra = 3 THEN concat('Exit ', 1 + floor(u(i, 38) * 30)::INT) END",
        "lat_s",
        "lon_s",
        "CASE WHEN lat_s IS NOT NULL THEN concat('\"(', lat_s, ', ', lon_s, ')\"') END",
    ]
    assert len(fields) == len(HEADER.split(","))
    return "SELECT concat(" + ", ',', ".join(fields) + ", chr(10)) AS line FROM rows"


def _connect(seed: int) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB whose queries each run on one thread: the parallelism is one chunk per worker."""
    con = duckdb.connect(config={"threads": 1, "memory_limit": "1GB"})
    # u(i, k): the k-th uniform draw in [0, 1) of row i (k < 64). hash() of several values only XORs
    # their hashes together, which makes all draws of a row move together; one mixed integer does not.
    offset = int.from_bytes(hashlib.sha256(f"pulse-demo:{seed}".encode()).digest()[:8], "big") >> 3
    con.execute(f"CREATE MACRO u(i, k) AS (hash(i * 64 + k + {offset}) >> 11)::DOUBLE * {2.0 ** -53!r}")
    return con


def _write_lines(out, table: pa.Table) -> None:
    """Write a column of finished lines as the bytes Arrow already holds them in: one write per batch."""
    for arr in table.column(0).chunks:
        if len(arr) == 0:
            continue
        _, offsets, data = arr.buffers()
        width = 8 if pa.types.is_large_string(arr.type) else 4
        first = int.from_bytes(offsets[arr.offset * width:(arr.offset + 1) * width], "little")
        last = int.from_bytes(offsets[(arr.offset + len(arr)) * width:(arr.offset + len(arr) + 1) * width], "little")
        out.write(memoryview(data)[first:last])


def write_nyc311_csv(path, rows: int, seed: int = 311, end=None) -> Path:
    """Write `rows` NYC-311-export-shaped requests spanning the three years before `end` to `path`.

    Workers each build one chunk of CHUNK_ROWS finished lines at a time; the chunks are written in
    order and at most WORKERS + 1 are held at once, so memory stays bounded at any size. The same
    (rows, seed, end) gives the same bytes, whatever the number of workers.
    """
    path = Path(path)
    end_dt = _as_datetime(end)
    end_s = _epoch(end_dt)
    types = complaint_types()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial")
    con = _connect(seed)
    cursors: list = []
    local = threading.local()
    rows_sql, line_sql, lists = _rows_sql(end_s), _line_sql(end_s), _lists(types)

    def chunk(lo: int, hi: int) -> pa.Table:
        if not hasattr(local, "cur"):
            local.cur = con.cursor()
            cursors.append(local.cur)
            for name, values in lists.items():
                local.cur.execute(f"SET VARIABLE {name} = {_sql_list(values)}")
        local.cur.execute(_core_sql(lo, hi))
        local.cur.execute(rows_sql)
        # Streamed into Arrow batch by batch: no second, fully materialised copy inside DuckDB.
        return pa.Table.from_batches(list(local.cur.sql(line_sql).to_arrow_reader(1 << 14)))

    try:
        con.register("_slots", _slots(rows, seed, end_dt))
        con.execute("CREATE TABLE slots AS SELECT * FROM _slots")
        con.register("_mix", _mix(types))
        con.execute("CREATE TABLE mix AS SELECT * FROM _mix")
        with open(tmp, "wb") as out, ThreadPoolExecutor(WORKERS) as pool:
            out.write((HEADER + "\n").encode())
            pending: deque = deque()
            for lo in range(0, rows, CHUNK_ROWS):
                pending.append(pool.submit(chunk, lo, min(rows, lo + CHUNK_ROWS)))
                if len(pending) > WORKERS:
                    _write_lines(out, pending.popleft().result())
            while pending:
                _write_lines(out, pending.popleft().result())
        os.replace(tmp, path)
    finally:
        for cur in cursors:
            cur.close()
        con.close()
        tmp.unlink(missing_ok=True)
    return path


def rows_for(scale) -> int:
    """311 row count of a scale: small, medium, large, or a whole number."""
    if isinstance(scale, int):
        return scale
    if str(scale).isdigit():
        return int(scale)
    try:
        return SCALES[scale]
    except KeyError:
        raise ValueError(f"scale must be one of {', '.join(SCALES)} or a row count, not {scale!r}") from None


def build(scale="small", seed: int = 311, data_dir=None, end=None) -> list[dict]:
    """Build the demo lake: write every dataset's source file to <data dir>/demo-src/ and load it.

    311 goes through the NYC export format (recognised from the header), the rest through their
    plain schema. Returns the LoadResult dicts, one per dataset.
    """
    import config
    from etl.demo_geo import write_boundaries
    from etl.demo_snow import write_snow
    from etl.demo_volunteers import write_volunteers
    from etl.load import load_file

    end_dt = _as_datetime(end)
    settings = config.active() if data_dir is None else config.active().replace(data_dir=data_dir)
    with config.using(settings):
        src = config.data_dir() / "demo-src"
        src.mkdir(parents=True, exist_ok=True)
        files = {**write_snow(src, seed, end_dt), **write_volunteers(src, seed, end_dt)}
        files["service_requests"] = write_nyc311_csv(src / "service_requests_nyc311.csv", rows_for(scale), seed, end_dt)
        write_boundaries(config.data_dir() / "geo")
        return [load_file(name, path).to_dict() for name, path in files.items()]
