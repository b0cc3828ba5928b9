"""SQLAlchemy models of the knowledge base: every fact carries its source page."""
from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import declarative_base, relationship

Base = declarative_base()


class Source(Base):
    """A page of ../shared/sources (or reference data) that facts cite."""

    __tablename__ = "source"
    id = Column(String(64), primary_key=True)
    file = Column(String(200), nullable=True)
    title = Column(Text, nullable=False)
    institution = Column(String(64), nullable=True)
    academic_year = Column(String(7), nullable=True)


class KbMeta(Base):
    """About the build itself: which curated data it was built from (data_fingerprint)."""

    __tablename__ = "kb_meta"
    key = Column(String(64), primary_key=True)
    value = Column(Text, nullable=False)


class Institution(Base):
    __tablename__ = "institution"
    id = Column(String(64), primary_key=True)
    name = Column(String(200), nullable=False)
    parent = Column(String(64), nullable=True)
    city = Column(String(64), nullable=True)
    aliases = Column(JSON, nullable=False, default=list)


class FeeParameter(Base):
    """One dated amount of a fee scheme (after OpenFisca's parameters)."""

    __tablename__ = "fee_parameter"
    __table_args__ = (UniqueConstraint("institution", "name", "academic_year"),)
    id = Column(Integer, primary_key=True)
    institution = Column(String(64), ForeignKey("institution.id"), nullable=False)
    name = Column(String(120), nullable=False)
    academic_year = Column(String(7), nullable=False)
    description = Column(Text, nullable=False)
    unit = Column(String(16), nullable=False)
    amount = Column(String(32), nullable=True)  # exact decimal text: SQLite has no exact decimals
    value = Column(JSON, nullable=True)  # non-numeric values: lists, booleans, dates
    source_id = Column(String(64), ForeignKey("source.id"), nullable=False)
    source = relationship(Source)


class StatedTotal(Base):
    """A total exactly as a page states it, for checking the engine against the page."""

    __tablename__ = "stated_total"
    id = Column(Integer, primary_key=True)
    institution = Column(String(64), ForeignKey("institution.id"), nullable=False)
    academic_year = Column(String(7), nullable=False)
    profile = Column(JSON, nullable=False)
    total = Column(String(32), nullable=False)  # exact decimal text
    source_id = Column(String(64), ForeignKey("source.id"), nullable=False)


class Country(Base):
    __tablename__ = "country"
    code = Column(String(2), primary_key=True)
    name = Column(String(120), nullable=False)
    names = Column(JSON, nullable=False, default=list)
    demonyms = Column(JSON, nullable=False, default=list)
    eea = Column(Boolean, nullable=False)
    eu = Column(Boolean, nullable=False)
    source_id = Column(String(64), ForeignKey("source.id"), nullable=False)


class City(Base):
    """A city and the country it is in: recognises a destination named by its city ("a semester in Oslo")."""
    __tablename__ = "city"
    name = Column(String(120), primary_key=True)
    country = Column(String(2), ForeignKey("country.code"), nullable=False)
    names = Column(JSON, nullable=False, default=list)
    source_id = Column(String(64), ForeignKey("source.id"), nullable=False)


class Community(Base):
    __tablename__ = "community"
    id = Column(String(64), primary_key=True)
    name = Column(String(120), nullable=False)
    aliases = Column(JSON, nullable=False, default=list)


class Region(Base):
    __tablename__ = "region"
    id = Column(String(64), primary_key=True)
    description = Column(Text, nullable=False)
    members = Column(JSON, nullable=False)  # country codes or community ids
    source_id = Column(String(64), ForeignKey("source.id"), nullable=False)


class ResidenceRule(Base):
    """A residence card or status and whether it gives the basic fee, with its proof."""

    __tablename__ = "residence_rule"
    id = Column(Integer, primary_key=True)
    institution = Column(String(64), nullable=False)
    academic_year = Column(String(7), nullable=False)
    kind = Column(String(8), nullable=False)  # card | status
    code = Column(String(64), nullable=False)
    label = Column(Text, nullable=False)
    exempt = Column(Boolean, nullable=False)
    proof = Column(Text, nullable=True)
    source_id = Column(String(64), ForeignKey("source.id"), nullable=False)


class Grant(Base):
    __tablename__ = "grant"
    id = Column(String(64), primary_key=True)
    name = Column(String(200), nullable=False)
    aliases = Column(JSON, nullable=False, default=list)
    variants = relationship("GrantVariant", back_populates="grant", order_by="GrantVariant.id")


class GrantVariant(Base):
    """A grant as one source page describes it (pages may disagree)."""

    __tablename__ = "grant_variant"
    id = Column(Integer, primary_key=True)
    grant_id = Column(String(64), ForeignKey("grant.id"), nullable=False)
    institution = Column(String(64), nullable=False)
    academic_year = Column(String(7), nullable=True)
    activities = Column(JSON, nullable=False)
    destinations = Column(JSON, nullable=False)
    min_months = Column(JSON, nullable=True)
    max_months = Column(Integer, nullable=True)
    duration_text = Column(Text, nullable=True)
    amount = Column(JSON, nullable=True)
    extra = Column(JSON, nullable=True)  # budget, places, ...
    deadline_id = Column(String(64), nullable=True)
    deadline_text = Column(Text, nullable=True)
    conditions = Column(JSON, nullable=False, default=list)
    source_id = Column(String(64), ForeignKey("source.id"), nullable=False)
    grant = relationship(Grant, back_populates="variants")
    source = relationship(Source)


class Deadline(Base):
    __tablename__ = "deadline"
    id = Column(String(64), primary_key=True)
    month = Column(Integer, nullable=True)
    day = Column(Integer, nullable=True)
    kind = Column(String(16), nullable=False)
    institution = Column(String(64), nullable=False)
    audience = Column(String(16), nullable=False)
    title = Column(Text, nullable=False)
    description = Column(Text, nullable=False)
    grants = Column(JSON, nullable=False, default=list)
    source_id = Column(String(64), ForeignKey("source.id"), nullable=False)
    source = relationship(Source)


class Fact(Base):
    """A statement of a source page, by topic."""

    __tablename__ = "fact"
    id = Column(Integer, primary_key=True)
    topic = Column(String(64), nullable=False, index=True)
    position = Column(Integer, nullable=False)
    institution = Column(String(64), nullable=True)
    academic_year = Column(String(7), nullable=True)
    text = Column(Text, nullable=False)
    source_id = Column(String(64), ForeignKey("source.id"), nullable=False)
    source = relationship(Source)


class Course(Base):
    __tablename__ = "course"
    id = Column(Integer, primary_key=True)
    institution = Column(String(64), nullable=False)
    programme = Column(String(200), nullable=False)
    name = Column(String(200), nullable=False)
    ects = Column(Integer, nullable=True)
    semester = Column(String(16), nullable=True)
    source_id = Column(String(64), ForeignKey("source.id"), nullable=False)
